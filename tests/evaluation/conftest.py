"""Fixtures for the evaluator tests: running the devkit port on files, like the devkit is run."""
from __future__ import annotations

import numpy as np
import pytest

from detlab.evaluation import devkit_reference
from detlab.evaluation.synthetic import write_case


@pytest.fixture
def devkit_aps(tmp_path):
    """devkit_aps(case, metric, iou_thr) -> np.array of per-class APs from the devkit port,
    run on label and Task1 files written to tmp_path, as the devkit's main() runs."""
    counter = iter(range(1000))

    def run(case, metric: str = 'voc07', iou_thr: float = 0.5) -> np.ndarray:
        root = tmp_path / f'case{next(counter)}'
        label_dir, det_dir, imageset = write_case(root, case)
        _, aps = devkit_reference.evaluate_task1(
            f'{det_dir}/Task1_{{:s}}.txt', f'{label_dir}/{{:s}}.txt', imageset,
            list(case.classes), ovthresh=iou_thr, use_07_metric=metric == 'voc07')
        return np.array(aps, dtype=np.float64)

    return run
