"""Paths to the configs shipped inside the installed mmrotate, for ``_base_``.

mmcv 1.x configs can only inherit files by path. Our configs inherit
mmrotate's own base configs (datasets, schedules, Rotated RetinaNet) from the
installed package instead of copies, so they stay exactly upstream's:

    from refined_det.upstream import mmrotate_config
    _base_ = [mmrotate_config('rotated_retinanet/rotated_retinanet_obb_r50_fpn_6x_hrsc_rr_le90.py')]

(mmcv drops imported functions from the loaded config.)
"""

from __future__ import annotations

import os.path as osp

import mmrotate


def mmrotate_config(relative: str) -> str:
    """Absolute path of ``configs/<relative>`` in the installed mmrotate."""
    path = osp.join(osp.dirname(mmrotate.__file__), ".mim", "configs", relative)
    if not osp.isfile(path):
        raise FileNotFoundError(f"mmrotate {mmrotate.__version__} ships no config '{relative}' (looked for {path})")
    return path
