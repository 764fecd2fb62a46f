"""Every malformed input of the catalogue (bad_inputs.py, listed in docs/reliability.md) ends the same way:
one error line on stderr naming the file (and line or field) and what is wrong, exit code 2, nothing
half-written (the case's folder is byte for byte as the case left it), no MLflow run left RUNNING.

The cases run through `detlab.cli.main` in this process (the console script's entry point: a
subprocess per case would import torch ~70 times); test_console_script_exit_status runs a few through
the real `detlab` executable and experiments/sweep.py to show the process exit status is the same.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bad_inputs import CASES, REPO, Case, Data, unmount_all
from mlflow_testing import running_runs

BY_ID = {c.id: c for c in CASES}
DETLAB = Path(sys.executable).parent / "detlab"
SWEEP_SCRIPT = REPO / "experiments" / "sweep.py"


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Data:
    """Small good inputs: 4 HRSC2016 images, one 300-400 px DOTA image, detections equal to the ground truth."""
    from detlab.data.synth import synth_dataset
    from detlab.evaluation.task1 import write_task1_dir
    from refined_det.datasets.formats import DOTA_CLASSES, read_dota_dir, read_hrsc_dir

    root = tmp_path_factory.mktemp("good")
    synth_dataset("hrsc2016", root / "hrsc", 4, seed=1, progress=False, workers=1)
    synth_dataset("dota", root / "dota", 1, seed=1, progress=False, workers=1, size_range=(300, 400))
    dota = read_dota_dir(root / "dota" / "labelTxt")
    dets = {}
    for name in DOTA_CLASSES:
        rows = [(i, p) for i, a in dota.items() for p, n in zip(a.polys, a.labels) if n == name]
        dets[name] = ([i for i, _ in rows], [1.0] * len(rows), [p for _, p in rows])
    write_task1_dir(root / "dota_dets", dets, DOTA_CLASSES)
    hrsc = read_hrsc_dir(root / "hrsc" / "FullDataSet" / "Annotations")
    rows = [(i, p) for i, a in hrsc.items() for p in a.polys]
    write_task1_dir(root / "hrsc_dets", {"ship": ([i for i, _ in rows], [1.0] * len(rows), [p for _, p in rows])},
                    ["ship"])
    return Data(hrsc=root / "hrsc", dota=root / "dota", dota_dets=root / "dota_dets", hrsc_dets=root / "hrsc_dets",
                mlflow_uri=f"sqlite:///{root / 'mlflow.db'}")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """No Ray or MLflow of someone else; a training that got past preflight would fail on RAY_ADDRESS
    with a message no case expects."""
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DETLAB_SWEEP_STORAGE", raising=False)
    monkeypatch.setenv("DETLAB_MLFLOW_SPOOL", str(tmp_path / "default-spool"))


def snapshot(root: Path, skip: str = "") -> dict[str, tuple]:
    """Every path under `root` (but `skip`) with its kind, size and content time: what "unchanged" means."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(folder) / name
            if skip and (p == root / skip or root / skip in p.parents):
                continue
            st = p.lstat()   # a folder is its entries: its mtime moves when a .partial comes and goes
            folder_ = p.is_dir() and not p.is_symlink()
            out[str(p.relative_to(root))] = (st.st_mode, 0 if folder_ else st.st_size, 0 if folder_ else st.st_mtime_ns)
    return out


def build(case: Case, data: Data, tmp_path: Path) -> tuple[Path, list[str], list[str]]:
    t = tmp_path / "case"
    t.mkdir(parents=True)
    try:
        argv, expect = case.build(data, t)
    except RuntimeError as err:  # mount refused
        pytest.skip(str(err))
    return t, argv, expect


def check(case: Case, data: Data, t: Path, before: dict, code: int, err: str, expect: list[str]) -> None:
    prefix = "sweep: error: " if case.command == "experiments/sweep.py" else "detlab: error: "
    errors = [line for line in err.splitlines() if "error:" in line]
    assert code == 2, f"exit {code}; stderr:\n{err[-3000:]}"
    assert len(errors) == 1 and errors[0].startswith(prefix), err[-3000:]
    assert err.rstrip("\n").splitlines()[-1] == errors[0], err[-3000:]   # the last line, nothing after it
    missing = [piece for piece in expect if piece.lower() not in errors[0].lower()]
    assert not missing, f"{missing} not in: {errors[0]}"
    assert snapshot(t, case.may_change) == before, "the case's folder changed: something was (half-)written"
    if case.command == "train":
        storage = t.parent / f"{t.name}-storage"
        assert not list(storage.rglob("*.pth")), "a checkpoint was written: training started"
        assert not running_runs(data.mlflow_uri)


def run_in_process(case: Case, argv: list[str]) -> int:
    if argv[0] == "sweep.py":
        spec = importlib.util.spec_from_file_location("experiments_sweep", SWEEP_SCRIPT)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.main(argv[1:])
    from detlab.cli import main
    return main(argv[1:])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, data: Data, tmp_path: Path, capsys) -> None:
    import ray

    t, argv, expect = build(case, data, tmp_path)
    try:
        before = snapshot(t, case.may_change)
        capsys.readouterr()
        code = run_in_process(case, argv)
        err = capsys.readouterr().err
        check(case, data, t, before, code, err, expect)
        assert not ray.is_initialized()
    finally:
        unmount_all(tmp_path)


def test_catalogue_is_large_and_documented() -> None:
    """At least 40 cases over every command, each in docs/reliability.md's table by its test id."""
    assert len(CASES) >= 40
    commands = {c.command for c in CASES}
    assert {"data synth", "data split", "data merge", "evaluate", "train", "sweep", "experiments/sweep.py",
            "ablate run", "report", "mlflow sync"} <= commands
    doc = (REPO / "docs" / "reliability.md").read_text()
    table = doc.split("## Bad input", 1)[1].split("\n## ", 1)[0]
    assert not [c.id for c in CASES if f"`{c.id}`" not in table]


SUBPROCESS_CASES = ["split-label-nan", "eval-hrsc-xml-truncated", "train-config-syntax", "sync-artifact-outside",
                    "sweep-not-a-mapping"]


def test_console_script_exit_status(data: Data, tmp_path: Path) -> None:
    """The real executables: exit status 2 and the same one line, for a few cases of different commands."""
    env = dict(os.environ, RAY_ADDRESS="127.0.0.1:1", DETLAB_MLFLOW_SPOOL=str(tmp_path / "spool"))
    env.pop("MLFLOW_TRACKING_URI", None)
    for i, case_id in enumerate(SUBPROCESS_CASES):
        case = BY_ID[case_id]
        t, argv, expect = build(case, data, tmp_path / str(i))
        before = snapshot(t, case.may_change)
        exe = [sys.executable, str(SWEEP_SCRIPT)] if argv[0] == "sweep.py" else [str(DETLAB)]
        proc = subprocess.run(exe + argv[1:], capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
        check(case, data, t, before, proc.returncode, proc.stderr, expect)
