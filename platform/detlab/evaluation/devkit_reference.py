"""A straightforward port of the official DOTA devkit's Task1 evaluation, kept as the yardstick.

Ported from CAPTAIN-WHU/DOTA_devkit `dota_evaluation_task1.py` (`parse_gt`,
`voc_ap`, `voc_eval`) and its C++ `polyiou.cpp` (SWIG module `polyiou`), in plain
Python and numpy: no shapely and nothing from our fast evaluator, so the tests
and `benchmarks/evaluate.py` check ours against an independent implementation.
The control flow is the devkit's, statement for statement: per-image GT dict with
`det` flags, detections sorted with `np.argsort(-confidence)`, HBB pre-filter
(with the devkit's `+1` pixel convention) then polygon IoU, `ovmax > ovthresh`,
a detection matched to a difficult object is neither TP nor FP, `npos` counts
non-difficult objects, VOC07 11-point AP. The polygon IoU repeats the C++
arithmetic operation for operation (the same expressions in the same order, the
same `1e-8` tolerance), so it gives the C++ module's floats, bit for bit, on a
machine without fused multiply-add contraction.

Where the devkit divides by zero or crashes, this port does the following (the
fast evaluator does the same except where noted; see docs/evaluation.md):

* class with no non-difficult object (`npos == 0`): `rec = tp / 0.` is NaN
  everywhere. VOC07: every `rec >= t` is empty, AP = 0 (the devkit's own
  result). VOC12 (area), with detections: the devkit's arithmetic gives NaN;
  this port returns that NaN, as the devkit would (the fast evaluator gives 0).
* empty detection file: the devkit crashes (`BB[sorted_ind, :]` on a 1-D empty
  array). Here it means "no detections": tp/fp empty, AP = 0 in both metrics.
* `np.bool` (gone from numpy >= 1.24) is spelled `bool`; the debugging prints
  are left out; numpy's divide warnings are silenced.

Everything else, including the crash on a detection whose image is not in the
image set (KeyError), is left as the devkit has it; so the type checker skips this file
(its untyped dict-of-anything style is the devkit's).
"""
# mypy: ignore-errors

from __future__ import annotations

import math

import numpy as np

# ---------------------------------------------------------------------------
# polyiou.cpp
# ---------------------------------------------------------------------------
MAXN = 51
EPS = 1e-8


def sig(d: float) -> int:
    return (d > EPS) - (d < -EPS)


class Point:
    """C++ `struct Point`: a mutable pair, compared with the 1e-8 tolerance."""

    __slots__ = ("x", "y")

    def __init__(self, x: float = 0.0, y: float = 0.0) -> None:
        self.x = x
        self.y = y

    def copy(self) -> Point:
        return Point(self.x, self.y)

    def __eq__(self, p: object) -> bool:
        assert isinstance(p, Point)
        return sig(self.x - p.x) == 0 and sig(self.y - p.y) == 0


def cross(o: Point, a: Point, b: Point) -> float:
    return (a.x - o.x) * (b.y - o.y) - (b.x - o.x) * (a.y - o.y)


def area(ps: list[Point], n: int) -> float:
    ps[n] = ps[0].copy()
    res = 0.0
    for i in range(n):
        res += ps[i].x * ps[i + 1].y - ps[i].y * ps[i + 1].x
    return res / 2.0


def line_cross(a: Point, b: Point, c: Point, d: Point, p: Point) -> int:
    """Intersection of line ab with line cd written into `p` (C++ `lineCross`, out-parameter)."""
    s1 = cross(a, b, c)
    s2 = cross(a, b, d)
    if sig(s1) == 0 and sig(s2) == 0:
        return 2
    if sig(s2 - s1) == 0:
        return 0  # p is left as it was, as in C++
    p.x = (c.x * s2 - d.x * s1) / (s2 - s1)
    p.y = (c.y * s2 - d.y * s1) / (s2 - s1)
    return 1


def polygon_cut(p: list[Point], n: int, a: Point, b: Point, pp: list[Point]) -> int:
    """Keep the part of polygon p[:n] left of a->b, in place; returns the new n.

    `pp` is the caller's scratch array and keeps its contents between calls, as
    the C++ stack array does (it matters only in the degenerate `lineCross`
    return paths that leave the output point untouched).
    """
    m = 0
    p[n] = p[0].copy()
    for i in range(n):
        if sig(cross(a, b, p[i])) > 0:
            pp[m] = p[i].copy()
            m += 1
        if sig(cross(a, b, p[i])) != sig(cross(a, b, p[i + 1])):
            line_cross(a, b, p[i], p[i + 1], pp[m])
            m += 1
    n = 0
    for i in range(m):
        if not i or not (pp[i] == pp[i - 1]):
            p[n] = pp[i].copy()
            n += 1
    while n > 1 and p[n - 1] == p[0]:
        n -= 1
    return n


def intersect_area_tri(a: Point, b: Point, c: Point, d: Point) -> float:
    """Signed intersection area of triangles (o, a, b) and (o, c, d), o the origin."""
    o = Point(0.0, 0.0)
    s1 = sig(cross(o, a, b))
    s2 = sig(cross(o, c, d))
    if s1 == 0 or s2 == 0:
        return 0.0
    if s1 == -1:
        a, b = b, a
    if s2 == -1:
        c, d = d, c
    p = [o.copy(), a.copy(), b.copy()] + [Point() for _ in range(7)]
    n = 3
    pp = [Point() for _ in range(MAXN)]
    n = polygon_cut(p, n, o, c, pp)
    n = polygon_cut(p, n, c, d, pp)
    n = polygon_cut(p, n, d, o, pp)
    res = math.fabs(area(p, n))
    if s1 * s2 == -1:
        res = -res
    return res


def intersect_area(ps1: list[Point], n1: int, ps2: list[Point], n2: int) -> float:
    """Intersection area of two polygons (reorients them counter-clockwise in place)."""
    if area(ps1, n1) < 0:
        ps1[:n1] = ps1[:n1][::-1]
    if area(ps2, n2) < 0:
        ps2[:n2] = ps2[:n2][::-1]
    ps1[n1] = ps1[0].copy()
    ps2[n2] = ps2[0].copy()
    res = 0.0
    for i in range(n1):
        for j in range(n2):
            res += intersect_area_tri(ps1[i], ps1[i + 1], ps2[j], ps2[j + 1])
    return res


def iou_poly(p, q) -> float:
    """IoU of two quadrilaterals given as 8 numbers each (the devkit's `polyiou.iou_poly`)."""
    ps1 = [Point() for _ in range(MAXN)]
    ps2 = [Point() for _ in range(MAXN)]
    n1 = 4
    n2 = 4
    for i in range(4):
        ps1[i].x = float(p[i * 2])
        ps1[i].y = float(p[i * 2 + 1])
        ps2[i].x = float(q[i * 2])
        ps2[i].y = float(q[i * 2 + 1])
    inter_area = intersect_area(ps1, n1, ps2, n2)
    union_area = math.fabs(area(ps1, n1)) + math.fabs(area(ps2, n2)) - inter_area
    try:
        return inter_area / union_area
    except ZeroDivisionError:  # C++ double division: 0/0 -> NaN, x/0 -> +-inf
        return math.nan if inter_area == 0 else math.copysign(math.inf, inter_area)


# ---------------------------------------------------------------------------
# dota_evaluation_task1.py
# ---------------------------------------------------------------------------
def parse_gt(filename: str) -> list[dict]:
    """All objects of one label file (lines with fewer than 9 fields are skipped)."""
    objects = []
    with open(filename) as f:
        while True:
            line = f.readline()
            if line:
                splitlines = line.strip().split(" ")
                object_struct = {}
                if len(splitlines) < 9:
                    continue
                object_struct["name"] = splitlines[8]
                if len(splitlines) == 9:
                    object_struct["difficult"] = 0
                elif len(splitlines) == 10:
                    object_struct["difficult"] = int(splitlines[9])
                object_struct["bbox"] = [float(v) for v in splitlines[:8]]
                objects.append(object_struct)
            else:
                break
    return objects


def voc_ap(rec: np.ndarray, prec: np.ndarray, use_07_metric: bool = False) -> float:
    """VOC AP from recall/precision: 11-point (VOC07) or area under the envelope."""
    if use_07_metric:
        ap = 0.0
        for t in np.arange(0.0, 1.1, 0.1):
            if np.sum(rec >= t) == 0:
                p = 0
            else:
                p = np.max(prec[rec >= t])
            ap = ap + p / 11.0
    else:
        mrec = np.concatenate(([0.0], rec, [1.0]))
        mpre = np.concatenate(([0.0], prec, [0.0]))
        for i in range(mpre.size - 1, 0, -1):
            mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])
        i = np.where(mrec[1:] != mrec[:-1])[0]
        ap = np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1])
    return ap


def _calcoverlaps(BBGT_keep: np.ndarray, bb: np.ndarray) -> list[float]:
    overlaps = []
    for index, _ in enumerate(BBGT_keep):
        overlap = iou_poly(BBGT_keep[index], bb)
        overlaps.append(overlap)
    return overlaps


def voc_eval_records(
    recs: dict[str, list[dict]],
    imagenames: list[str],
    det_lines: list[str],
    classname: str,
    ovthresh: float = 0.5,
    use_07_metric: bool = False,
):
    """The body of `voc_eval` once the label files and the Task1 file are read.

    recs: {imagename: parse_gt(...)}; det_lines: the lines of `Task1_<classname>.txt`.
    Returns (rec, prec, ap) as the devkit does.
    """
    class_recs = {}
    npos = 0
    for imagename in imagenames:
        R = [obj for obj in recs[imagename] if obj["name"] == classname]
        bbox = np.array([x["bbox"] for x in R])
        difficult = np.array([x["difficult"] for x in R]).astype(bool)
        det = [False] * len(R)
        npos = npos + sum(~difficult)
        class_recs[imagename] = {"bbox": bbox, "difficult": difficult, "det": det}

    splitlines = [x.strip().split(" ") for x in det_lines]
    image_ids = [x[0] for x in splitlines]
    confidence = np.array([float(x[1]) for x in splitlines])
    # the devkit's np.array(...) is 1-D when the file is empty; it then crashes
    BB = np.array([[float(z) for z in x[2:]] for x in splitlines]).reshape(len(splitlines), -1 if splitlines else 8)

    sorted_ind = np.argsort(-confidence)
    BB = BB[sorted_ind, :]
    image_ids = [image_ids[x] for x in sorted_ind]

    nd = len(image_ids)
    tp = np.zeros(nd)
    fp = np.zeros(nd)
    for d in range(nd):
        R = class_recs[image_ids[d]]
        bb = BB[d, :].astype(float)
        ovmax = -np.inf
        BBGT = R["bbox"].astype(float)

        if BBGT.size > 0:
            # 1. overlaps between the HBBs; if they are 0, the polygon IoU is 0 too
            BBGT_xmin = np.min(BBGT[:, 0::2], axis=1)
            BBGT_ymin = np.min(BBGT[:, 1::2], axis=1)
            BBGT_xmax = np.max(BBGT[:, 0::2], axis=1)
            BBGT_ymax = np.max(BBGT[:, 1::2], axis=1)
            bb_xmin = np.min(bb[0::2])
            bb_ymin = np.min(bb[1::2])
            bb_xmax = np.max(bb[0::2])
            bb_ymax = np.max(bb[1::2])

            ixmin = np.maximum(BBGT_xmin, bb_xmin)
            iymin = np.maximum(BBGT_ymin, bb_ymin)
            ixmax = np.minimum(BBGT_xmax, bb_xmax)
            iymax = np.minimum(BBGT_ymax, bb_ymax)
            iw = np.maximum(ixmax - ixmin + 1.0, 0.0)
            ih = np.maximum(iymax - iymin + 1.0, 0.0)
            inters = iw * ih

            uni = (
                (bb_xmax - bb_xmin + 1.0) * (bb_ymax - bb_ymin + 1.0)
                + (BBGT_xmax - BBGT_xmin + 1.0) * (BBGT_ymax - BBGT_ymin + 1.0)
                - inters
            )

            overlaps = inters / uni

            BBGT_keep_mask = overlaps > 0
            BBGT_keep = BBGT[BBGT_keep_mask, :]
            BBGT_keep_index = np.where(overlaps > 0)[0]
            if len(BBGT_keep) > 0:
                overlaps = _calcoverlaps(BBGT_keep, bb)
                ovmax = np.max(overlaps)
                jmax = np.argmax(overlaps)
                jmax = BBGT_keep_index[jmax]

        if ovmax > ovthresh:
            if not R["difficult"][jmax]:
                if not R["det"][jmax]:
                    tp[d] = 1.0
                    R["det"][jmax] = 1
                else:
                    fp[d] = 1.0
        else:
            fp[d] = 1.0

    fp = np.cumsum(fp)
    tp = np.cumsum(tp)
    with np.errstate(divide="ignore", invalid="ignore"):
        rec = tp / float(npos)
    # avoid divide by zero in case the first detection matches a difficult ground truth
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    with np.errstate(invalid="ignore"):
        ap = voc_ap(rec, prec, use_07_metric)
    return rec, prec, ap


def voc_eval(
    detpath: str, annopath: str, imagesetfile: str, classname: str, ovthresh: float = 0.5, use_07_metric: bool = False
):
    """The devkit's entry point: `detpath.format(classname)`, `annopath.format(imagename)`."""
    with open(imagesetfile) as f:
        lines = f.readlines()
    imagenames = [x.strip() for x in lines]
    recs = {}
    for imagename in imagenames:
        recs[imagename] = parse_gt(annopath.format(imagename))
    with open(detpath.format(classname)) as f:
        det_lines = f.readlines()
    return voc_eval_records(recs, imagenames, det_lines, classname, ovthresh, use_07_metric)


def evaluate_task1(
    detpath: str,
    annopath: str,
    imagesetfile: str,
    classnames: list[str],
    ovthresh: float = 0.5,
    use_07_metric: bool = True,
) -> tuple[float, list[float]]:
    """The devkit's `main()`: (mAP over all `classnames`, per-class APs)."""
    classaps = []
    for classname in classnames:
        _, _, ap = voc_eval(detpath, annopath, imagesetfile, classname, ovthresh=ovthresh, use_07_metric=use_07_metric)
        classaps.append(float(ap))
    return sum(classaps) / len(classnames), classaps
