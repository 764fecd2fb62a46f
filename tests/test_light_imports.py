"""Commands that only read files and compute with numpy load no deep-learning stack.

A fresh `detlab evaluate` (and `detlab data synth` / `split`) process must not
import torch, mmcv, mmdet, mmrotate or ray: importing them costs seconds before
the first file is read (issue 15). Each command runs in its own interpreter and
reports the heavy top-level modules it ended up with.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "mmcv", "mmdet", "mmrotate", "ray")

RUNNER = (
    "import json, sys\n"
    "from detlab.cli import main\n"
    "code = main(json.loads(sys.argv[1]))\n"
    f"heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
    "print('HEAVY=' + json.dumps(heavy), file=sys.stderr)\n"
    "sys.exit(code)\n")


def heavy_modules_of(argv: list[str]) -> list[str]:
    run = subprocess.run([sys.executable, "-c", RUNNER, json.dumps([str(a) for a in argv])],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    line = [ln for ln in run.stderr.splitlines() if ln.startswith("HEAVY=")][-1]
    return json.loads(line[len("HEAVY="):])


def test_evaluate_process_imports_no_heavy_module(tmp_path):
    from detlab.evaluation.synthetic import make_case, write_case

    label_dir, det_dir, imageset = write_case(tmp_path, make_case(3, num_images=4))
    assert heavy_modules_of(["evaluate", "--dataset", "dota", "--ann-dir", label_dir,
                             "--det-dir", det_dir, "--image-set", imageset,
                             "--out", tmp_path / "out"]) == []
    assert (tmp_path / "out" / "eval.json").is_file()  # the command really ran to the end


@pytest.mark.parametrize("dataset", ["dota", "hrsc2016"])
def test_data_synth_and_split_import_no_heavy_module(tmp_path, dataset):
    out = tmp_path / dataset
    assert heavy_modules_of(["data", "synth", "--dataset", dataset, "--images", "1", "--workers", "1",
                             "--min-size", "600", "--max-size", "700", "--quiet", "--out", out]) == []
    if dataset == "dota":
        assert heavy_modules_of(["data", "split", "--src", out, "--size", "512", "--workers", "1",
                                 "--quiet", "--out", tmp_path / "split"]) == []
        assert any((tmp_path / "split" / "images").iterdir())


def test_format_readers_do_not_run_the_registry_imports():
    code = ("import sys\n"
            "from refined_det.datasets.formats import read_dota_label, DOTA_CLASSES\n"
            "import refined_det, refined_det.datasets\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=120)
    assert run.stdout.strip() == "[]"
