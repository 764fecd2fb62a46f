"""Every ablation definition loads, resolves against its configs, has a smoke twin, and carries the
paper's numbers only where the paper (or the MMRotate zoo) gives them."""
from __future__ import annotations

from pathlib import Path

import pytest

from detlab.ablate import load_ablation, resolve_cells
from detlab.ablate.study import plan_of, study_data
from detlab.errors import UserError
from report_helpers import REPO

ABLATIONS = REPO / "experiments" / "ablations"
FULL = sorted(p for p in ABLATIONS.glob("*.yaml") if not p.stem.endswith("_smoke"))
TABLES = ["components", "neighbors", "radius", "iou_thresholds", "frhead_parts"]


def test_every_table_exists_on_both_datasets_with_smoke_twins():
    names = {p.stem for p in ABLATIONS.glob("*.yaml")}
    for table in TABLES:
        for name in (table, f"{table}_dota"):
            assert name in names and f"{name}_smoke" in names, name


@pytest.mark.parametrize("path", FULL, ids=lambda p: p.stem)
def test_definition_and_its_smoke_twin(path: Path):
    spec = load_ablation(path)
    cells = resolve_cells(spec)
    twin = load_ablation(path.with_name(f"{path.stem}_smoke.yaml"))
    twin_cells = resolve_cells(twin)
    assert [c.name for c in cells] == [c.name for c in twin_cells]
    assert spec.seeds == twin.seeds == [0, 1, 2]
    assert [c.paper for c in cells] == [c.paper for c in twin_cells]
    assert all(c.config.endswith("_mini.py") for c in twin_cells)
    res = twin.resources
    assert res.gpus_per_worker == 0 and res.workers_per_trial * res.cpus_per_worker + 0.1 <= 2
    assert spec.dataset.name == twin.dataset.name
    assert len({c.fingerprint for c in cells}) == len(cells), "two cells would train the same model"
    assert spec.mlflow.experiment != twin.mlflow.experiment


def test_paper_numbers_are_the_published_ones():
    hrsc = {c.name: c.paper for c in load_ablation(ABLATIONS / "components.yaml").cells}
    dota = {c.name: c.paper for c in load_ablation(ABLATIONS / "components_dota.yaml").cells}
    assert hrsc == {"baseline": 84.80, "cla": None, "frhead": None, "both": 90.50}
    assert dota == {"baseline": 68.42, "cla": None, "frhead": None, "both": 73.69}
    note = load_ablation(ABLATIONS / "components_dota.yaml").cell("both").paper_note
    assert "R101" in note and "multi-scale" in note     # a different setting, and the table says so
    for table in TABLES[1:]:
        papers = [c.paper for c in load_ablation(ABLATIONS / f"{table}_dota.yaml").cells]
        assert papers == [None] * len(papers), table   # the paper's DOTA number is R101 multi-scale only


def test_component_cells_are_the_paper_repository_configs():
    cells = {c.name: c for c in resolve_cells(load_ablation(ABLATIONS / "components.yaml"))}
    assert cells["baseline"].assigner["type"] == "MaxIoUAssigner"
    assert cells["cla"].assigner["type"] == "CrossGridAssigner" and cells["cla"].assigner["cross_grid"] is True
    assert "rotated_retinanet" in cells["cla"].config          # + CLA is Rotated RetinaNet with CLA
    assert cells["frhead"].assigner["cross_grid"] is False and "refined_det" in cells["frhead"].config
    assert cells["both"].overrides == {}


def test_generated_study_is_a_grid_over_cells_and_seeds():
    from detlab.specs import decode_trial, num_trials, parse_spec, searched_values, trial_cell

    spec = load_ablation(ABLATIONS / "components_smoke.yaml")
    cells = resolve_cells(spec)
    data = study_data(spec, cells, plan_of(spec, cells, trainer="toy", reuse=True))
    study = parse_spec(data)
    assert study.sampler.type == "grid" and num_trials(study) == 12
    assert study.cells is not None and list(study.search_space) == ["cell"]
    assert set(study.cells.cells) == {"baseline", "cla", "frhead", "both"}
    # each cell's data paths are rebased onto the ablation's root
    root = str(spec.resolve("data/synth_hrsc2016"))
    assert study.cells.cells["cla"].overrides["data.train.ann_file"].startswith(root)
    # a trial's cell is a label of the request, never a config override
    overrides, seed = decode_trial(study, {"cell": "cla", "seed": 1})
    assert "cell" not in overrides and seed == 1 and trial_cell(study, {"cell": "cla", "seed": 1}) == "cla"
    assert searched_values(study, {"cell": "cla", "seed": 1}) == {"cell": "cla"}  # the leaderboard's column


def test_a_grid_of_cells_must_search_exactly_its_cells():
    from detlab.errors import UserError
    from detlab.specs import parse_spec

    spec = load_ablation(ABLATIONS / "components_smoke.yaml")
    cells = resolve_cells(spec)
    data = study_data(spec, cells, plan_of(spec, cells, trainer="toy", reuse=True))
    data["search_space"]["cell"]["values"] = ["baseline", "cla"]
    with pytest.raises(UserError, match="cells: the search space must be the one grid dimension 'cell'"):
        parse_spec(data)


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "pyproject.toml").write_text("")
    path = tmp_path / "a.yaml"
    path.write_text(text)
    return path


BASE = f"{REPO}/experiments/configs/refined_det/refined_det_obb_r50_fpn_6x_hrsc_rr_le90_mini.py"


def test_unknown_config_key_names_the_cell(tmp_path):
    path = _write(tmp_path, f"""
dataset: {{name: hrsc2016}}
cells:
  - {{name: a, base_config: {BASE}}}
  - {{name: b, base_config: {BASE}, overrides: {{model.train_cfg.assigner.radus: 0.3}}}}
""")
    with pytest.raises(UserError, match=r"cells.1 \(b\): overrides.model.train_cfg.assigner.radus: .*radius"):
        resolve_cells(load_ablation(path))


def test_bad_fields_are_one_line_each(tmp_path):
    path = _write(tmp_path, f"""
dataset: {{name: hrsc2016}}
compare: baseline
baseline: nope
cels: []
cells:
  - {{name: a, base_config: {BASE}}}
  - {{name: a, base_config: {BASE}, paper_note: x}}
""")
    with pytest.raises(UserError) as err:
        load_ablation(path)
    text = str(err.value)
    assert "cels: unknown field (did you mean 'cells'?)" in text
    assert "paper_note without a paper value" in text


def test_set_edits_a_cell(tmp_path):
    spec = load_ablation(ABLATIONS / "components_smoke.yaml",
                         ["cells.1.overrides.optimizer.lr=0.002", "seeds=[0,1]"])  # the mini default is 0.001
    assert spec.seeds == [0, 1] and spec.cells[1].overrides["optimizer.lr"] == 0.002
    before = {c.name: c.fingerprint for c in resolve_cells(load_ablation(ABLATIONS / "components_smoke.yaml"))}
    after = {c.name: c.fingerprint for c in resolve_cells(spec)}
    assert [n for n in before if before[n] != after[n]] == ["cla"]


def test_docs_field_reference_is_current():
    from detlab.specs.reference import ABLATION_REFERENCE

    doc = (REPO / ABLATION_REFERENCE.doc).read_text()
    assert ABLATION_REFERENCE.update(doc) == doc, "run: .venv/bin/python -m detlab.ablate docs/ablations.md"
