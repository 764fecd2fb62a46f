"""The train and val datasets of a run as MLflow dataset inputs: name, source path and digest
(the dataset fingerprint of tracking/context.py), so MLflow's Dataset column and dataset
filter work and two runs on different data are told apart at a glance."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from detlab.tracking.client import make_client
from detlab.tracking.context import dataset_fingerprint

CONTEXT_TAG = "mlflow.data.context"  # mlflow.utils.mlflow_tags.MLFLOW_DATASET_CONTEXT


@dataclass(frozen=True)
class DatasetRef:
    """One dataset a run reads: ``context`` is the split it is used as (train, val)."""

    name: str
    context: str
    source: str  # where it lives (annotation file or folder)
    digest: str  # context.dataset_fingerprint

    @classmethod
    def of(cls, context: str, name: str, annotations: Sequence[str], images: Iterable[str] = ()) -> DatasetRef:

        return cls(
            name=name,
            context=context,
            source=annotations[0] if annotations else "",
            digest=dataset_fingerprint(annotations, images),
        )


def to_inputs(refs: Iterable[DatasetRef]) -> list:
    """MLflow ``DatasetInput`` entities (a local source: ``{"uri": path}``)."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    return [
        DatasetInput(
            Dataset(name=r.name, digest=r.digest, source_type="local", source=json.dumps({"uri": r.source})),
            tags=[InputTag(CONTEXT_TAG, r.context)],
        )
        for r in refs
    ]


def log_datasets(tracking_uri: str, run_id: str, refs: Sequence[DatasetRef]) -> None:
    """Log ``refs`` as inputs of ``run_id``, once: a resumed run that already has an input with
    the same name, digest and context logs nothing new."""

    client = make_client(tracking_uri)
    have = {
        (i.dataset.name, i.dataset.digest, next((t.value for t in i.tags if t.key == CONTEXT_TAG), ""))
        for i in client.get_run(run_id).inputs.dataset_inputs
    }
    new = [r for r in refs if (r.name, r.digest, r.context) not in have]
    if new:
        client.log_inputs(run_id, datasets=to_inputs(new))
