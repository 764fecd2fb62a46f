"""benchmarks/evaluate.py runs on a small case and finds no AP difference."""
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
    assert 'files -> APs' in out and 'evaluation only' in out
    assert 'max |AP difference| over 15 classes: 0' in out
