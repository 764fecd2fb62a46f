"""PR-curve PNGs: one per class, also for a class without detections."""
from __future__ import annotations

import numpy as np

from detlab.evaluation import evaluate_dota
from detlab.evaluation.plots import save_pr_curves


def test_one_png_per_class(tmp_path):
    gts = {'a': (np.array([[0, 0, 10, 0, 10, 10, 0, 10]], float), ['plane'], np.array([False]))}
    dets = {'plane': (['a', 'a'], np.array([0.9, 0.1]),
                      np.array([[0, 0, 10, 0, 10, 10, 0, 10], [50, 50, 60, 50, 60, 60, 50, 60]],
                               float))}
    result = evaluate_dota(gts, dets, classes=['plane', 'ship'])
    paths = save_pr_curves(result, tmp_path / 'curves')
    assert [p.name for p in paths] == ['pr_plane.png', 'pr_ship.png']
    for p in paths:
        data = p.read_bytes()
        assert data[:8] == b'\x89PNG\r\n\x1a\n' and len(data) > 5000
    assert sorted(x.name for x in (tmp_path / 'curves').iterdir()) == ['pr_plane.png', 'pr_ship.png']
