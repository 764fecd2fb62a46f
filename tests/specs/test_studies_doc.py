"""docs/studies.md stays true to the models; every study in experiments/studies has a smoke twin that loads."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from detlab.config import yaml_load
from detlab.specs import check_resources, load_spec, parse_spec
from detlab.specs.reference import STUDY_REFERENCE as REFERENCE

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "studies.md"
STUDIES = sorted(p for p in (ROOT / "experiments" / "studies").glob("*.yaml") if not p.stem.endswith("_smoke"))


def test_field_reference_is_up_to_date() -> None:
    text = DOC.read_text()
    assert REFERENCE.update(text) == text, (
        "docs/studies.md is out of date: run .venv/bin/python -m detlab.specs docs/studies.md")
    assert REFERENCE.markdown() in text.split(REFERENCE.begin)[1].split(REFERENCE.end)[0]


def test_every_field_is_documented() -> None:
    reference = REFERENCE.markdown()
    for _, model in REFERENCE.sections:
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"
            assert f"| `{name}` |" in reference


def test_the_doc_examples_are_valid_specs() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 2
    full = yaml_load(blocks[0])
    parse_spec(full | {"name": "cla_radius"})
    parse_spec(full | yaml_load(blocks[1]) | {"name": "ablation"})


@pytest.mark.parametrize("study", STUDIES, ids=lambda p: p.stem)
def test_study_loads_and_has_a_smoke_twin_for_two_cpus(study: Path) -> None:
    spec = load_spec(study)
    twin = study.with_name(f"{study.stem}_smoke.yaml")
    assert twin.is_file(), f"{study.name} has no smoke twin {twin.name}"
    smoke = load_spec(twin)
    check_resources(smoke, {"CPU": 2.0, "GPU": 0.0})
    assert smoke.sampler.type == spec.sampler.type
    assert set(smoke.search_space) <= set(spec.search_space)
