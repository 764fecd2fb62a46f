"""Polygon IoU: ours against shapely (exact geometry) and against the devkit port."""
from __future__ import annotations

import numpy as np
import pytest
import shapely

from detlab.evaluation import quad_iou
from detlab.evaluation.devkit_reference import iou_poly


def box(x0, y0, x1, y1):
    return [x0, y0, x1, y0, x1, y1, x0, y1]


def star_quads(rng, n, center_range=4000.0, radius=(2.0, 60.0)):
    """Simple quadrilaterals (vertices in angular order around a centre): convex or not."""
    c = rng.uniform(0, center_range, (n, 1, 2))
    ang = np.sort(rng.uniform(0, 2 * np.pi, (n, 4)), axis=1)
    r = rng.uniform(*radius, (n, 4))
    pts = c + np.stack([r * np.cos(ang), r * np.sin(ang)], -1)
    flip = rng.random(n) < 0.5  # both orientations
    pts[flip] = pts[flip, ::-1]
    return pts.reshape(n, 8)


def shapely_iou(p, q):
    """(IoU, valid): exact IoU where both polygons are valid (simple), NaN elsewhere."""
    P = shapely.polygons(p.reshape(-1, 4, 2))
    Q = shapely.polygons(q.reshape(-1, 4, 2))
    valid = shapely.is_valid(P) & shapely.is_valid(Q)
    iou = np.full(len(p), np.nan)
    P, Q = P[valid], Q[valid]
    inter = shapely.area(shapely.intersection(P, Q))
    iou[valid] = inter / (shapely.area(P) + shapely.area(Q) - inter)
    return iou, valid


@pytest.mark.parametrize('seed', [0, 1])
def test_matches_shapely_on_random_simple_quads(seed):
    rng = np.random.default_rng(seed)
    p = star_quads(rng, 5000)
    q = star_quads(rng, 5000)
    q = q - np.tile(q.reshape(-1, 4, 2).mean(1), 4) + np.tile(p.reshape(-1, 4, 2).mean(1), 4)
    q += rng.normal(0, 10, q.shape)
    expected, valid = shapely_iou(p, q)
    ours = quad_iou(p, q)
    assert valid.sum() > 2000
    nonconvex = ~shapely.equals(shapely.polygons(p.reshape(-1, 4, 2)),
                                shapely.convex_hull(shapely.polygons(p.reshape(-1, 4, 2))))
    assert (nonconvex & valid).sum() > 500  # the check covers non-convex quads
    assert ((expected > 0.3) & valid).sum() > 500  # ... and large overlaps
    np.testing.assert_allclose(ours[valid], expected[valid], rtol=0, atol=1e-11)


def test_matches_devkit_port_including_self_intersecting():
    rng = np.random.default_rng(3)
    p = rng.uniform(100, 160, (400, 8))  # arbitrary 8 numbers: many bow-ties
    q = p + rng.normal(0, 8, p.shape)
    ref = np.array([iou_poly(a, b) for a, b in zip(p, q)])
    np.testing.assert_allclose(quad_iou(p, q), ref, rtol=0, atol=1e-9)


def test_hand_computed_values():
    p = np.array([box(0, 0, 2, 2), box(0, 0, 2, 2), box(0, 0, 2, 2), box(0, 0, 2, 2)], float)
    q = np.array([box(1, 1, 3, 3), box(0, 0, 2, 2), box(2, 0, 4, 2), box(5, 5, 6, 6)], float)
    np.testing.assert_allclose(quad_iou(p, q), [1 / 7, 1.0, 0.0, 0.0], atol=1e-15)
    # a diamond inside a square: the diamond's area over the square's
    diamond = np.array([[1, 0, 2, 1, 1, 2, 0, 1]], float)
    assert quad_iou(np.array([box(0, 0, 2, 2)], float), diamond)[0] == pytest.approx(0.5, abs=1e-15)
    # a non-convex dart overlapping a square: area worked by hand
    dart = np.array([[0, 0, 4, 0, 2, 1, 0, 4]], float)  # reflex vertex at (2, 1)
    # dart area: shoelace = 0.5*|0*0-4*0 + 4*1-2*0 + 2*4-0*1 + 0*0-0*4| = 6; square [0,1]^2 inside it
    assert quad_iou(dart, np.array([box(0, 0, 1, 1)], float))[0] == pytest.approx(1 / 6, abs=1e-15)


def test_orientation_and_symmetry_do_not_matter():
    rng = np.random.default_rng(5)
    p = star_quads(rng, 200, 300)
    q = p + rng.normal(0, 5, p.shape)
    base = quad_iou(p, q)
    reversed_p = p.reshape(-1, 4, 2)[:, ::-1].reshape(-1, 8)
    rolled_q = np.roll(q.reshape(-1, 4, 2), 1, axis=1).reshape(-1, 8)
    np.testing.assert_allclose(quad_iou(reversed_p, rolled_q), base, atol=1e-12)
    np.testing.assert_allclose(quad_iou(q, p), base, atol=1e-12)


def test_translation_far_from_origin_keeps_precision():
    p = np.array([box(0, 0, 3, 3)], float)
    q = np.array([box(1, 1, 4, 4)], float)
    for shift in (0.0, 4000.0, 1e5):
        assert quad_iou(p + shift, q + shift)[0] == pytest.approx(4 / 14, abs=1e-12)
