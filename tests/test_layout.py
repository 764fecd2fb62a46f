"""The repository root keeps the layout of docs/design.md, and `import platform` stays the standard library."""
from __future__ import annotations

import os
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
ALLOWED_ROOT = {
    "platform", "detectors", "experiments", "clusters", "benchmarks", "tests", "docs", "scripts",
    "pyproject.toml", "constraints.txt", "Makefile", "README.md", ".ci", ".gitignore", ".rayignore",
    ".pre-commit-config.yaml",
}


def tracked_root_entries() -> set[str]:
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True)
    return {line.split("/", 1)[0] for line in out.stdout.splitlines() if line}


def test_root_holds_only_the_designed_entries():
    tracked = tracked_root_entries()
    unexpected = tracked - ALLOWED_ROOT
    assert not unexpected, f"unexpected top-level entries: {sorted(unexpected)}"
    missing = {"platform", "detectors", "experiments", "clusters", "benchmarks", "tests",
               "pyproject.toml"} - tracked
    assert not missing, f"missing from git: {sorted(missing)}"


def test_platform_and_detectors_are_not_packages():
    for folder in ("platform", "detectors"):
        assert not osp.exists(osp.join(REPO, folder, "__init__.py"))


def test_import_platform_from_the_repo_root_is_the_standard_library():
    code = "import platform, sysconfig; print(platform.__file__); print(platform.python_version())"
    env = dict(os.environ, PYTHONPATH=REPO)   # the root first on sys.path, as in a Ray job
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                         text=True, check=True)
    path, version = run.stdout.split()
    assert osp.dirname(path) == sysconfig_stdlib() and version.count(".") == 2


def sysconfig_stdlib() -> str:
    import sysconfig
    return sysconfig.get_paths()["stdlib"]


def test_dependencies_point_one_way():
    """refined_det (plugins) never imports the platform, Ray or MLflow."""
    offenders = []
    root = osp.join(REPO, "detectors", "refined_det")
    for dirpath, _, files in os.walk(root):
        for name in files:
            if name.endswith(".py"):
                text = open(osp.join(dirpath, name)).read()
                for banned in ("import detlab", "from detlab", "import ray", "from ray",
                               "import mlflow", "from mlflow"):
                    if banned in text:
                        offenders.append(f"{name}: {banned}")
    assert not offenders, offenders


def test_importing_refined_det_register_registers_every_plugin():
    """Configs rely on custom_imports=['refined_det.register'] alone."""
    code = ("import refined_det.register\n"
            "from mmrotate.datasets.builder import ROTATED_DATASETS\n"
            "from mmrotate.models.builder import ROTATED_DETECTORS, ROTATED_HEADS\n"
            "from mmrotate.core.bbox.builder import ROTATED_BBOX_ASSIGNERS\n"
            "from mmrotate.core.bbox.iou_calculators.builder import ROTATED_IOU_CALCULATORS\n"
            "names = [('StrictHRSCDataset', ROTATED_DATASETS), ('StrictDOTADataset', ROTATED_DATASETS),\n"
            "         ('RefinedDet', ROTATED_DETECTORS), ('FRHead', ROTATED_HEADS),\n"
            "         ('CLARetinaHead', ROTATED_HEADS), ('CrossGridAssigner', ROTATED_BBOX_ASSIGNERS),\n"
            "         ('SparseRBboxOverlaps2D', ROTATED_IOU_CALCULATORS)]\n"
            "missing = [n for n, reg in names if reg.get(n) is None]\n"
            "assert not missing, missing\n")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


def test_readme_main_command_is_the_smoke_sweep():
    """`make sweep` (the README's second command) runs experiments/sweep.py on a smoke study that exists."""
    import re
    import shlex

    readme = open(osp.join(REPO, "README.md")).read()
    assert "make test" in readme and "make sweep" in readme
    makefile = open(osp.join(REPO, "Makefile")).read()
    recipe = re.search(r"^sweep:.*\n\t(.+)$", makefile, re.M)
    assert recipe, "Makefile has no sweep target"
    words = shlex.split(recipe.group(1))
    assert words[1] == "experiments/sweep.py"
    study = words[words.index("--study") + 1]
    assert study.endswith("_smoke.yaml") and osp.isfile(osp.join(REPO, study))
    assert f"python experiments/sweep.py --study {study}" in readme


# spelled in pieces, so that this file does not name them itself
OUTSIDE_REFERENCES = tuple(p + q for p, q in [("../", "shared"), ("DESIGN", ".md"), ("CLA-SPEC", ".md"),
                                                  ("NOTES-ray-mlflow", ".md"), ("seed-README", ".md")])


def test_nothing_points_outside_the_repository():
    """The repository stands alone: code and docs name no document that lives outside it."""
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True)
    offenders = []
    for path in out.stdout.splitlines():
        if not path.endswith(
                (".py", ".md", ".sh", ".yaml", ".toml", ".txt", "Makefile", "Dockerfile")):
            continue
        text = open(osp.join(REPO, path), encoding="utf-8", errors="replace").read()
        offenders += [f"{path}: {ref}" for ref in OUTSIDE_REFERENCES if ref in text]
    assert not offenders, offenders
