"""benchmarks/evaluate.py runs on a small case, every column, and finds no AP difference."""
from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / 'benchmarks' / 'evaluate.py'


def test_benchmark_smoke(capsys):
    spec = importlib.util.spec_from_file_location('bench_evaluate', BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(['--images', '4', '--repeat', '1']) == 0
    out = capsys.readouterr().out
    assert 'case: 4 images' in out
    assert 'detlab evaluate (process)' in out and 'ours in-process' in out
    assert 'Python port (devkit_reference)' in out
    assert 'devkit (compiled polyiou)' in out  # timed, or a line saying how to install it
    assert 'max |AP difference| between any two columns over 15 classes: 0' in out
