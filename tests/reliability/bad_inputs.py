"""The catalogue of malformed inputs (tests/reliability/test_bad_inputs.py runs it; docs/reliability.md
lists it). Each case builds its broken input in a fresh folder and returns the command line and the
pieces the one-line error must contain: the file (and line or field) and what is wrong."""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

REPO = Path(__file__).resolve().parents[2]
MINI = REPO / "experiments/configs/refined_det/refined_det_obb_r50_fpn_6x_hrsc_rr_le90_mini.py"
SMOKE_STUDY = REPO / "experiments/studies/cla_hrsc_smoke.yaml"
SMOKE_ABLATION = REPO / "experiments/ablations/components_smoke.yaml"


@dataclass
class Data:
    """Good inputs the cases copy and break: synthetic sets and detections that evaluate cleanly."""

    hrsc: Path          # HRSC2016 root (FullDataSet/, ImageSets/)
    dota: Path          # DOTA folder (images/, labelTxt/)
    dota_dets: Path     # Task1_<class>.txt over `dota`
    hrsc_dets: Path     # Task1_ship.txt over `hrsc`
    mlflow_uri: str     # sqlite store the training cases record in


Built = tuple[list[str], list[str]]   # (command line, pieces of the error line)


@dataclass
class Case:
    id: str
    command: str        # the command under test, as the docs table names it
    input: str          # what is broken, in words
    build: Callable[[Data, Path], Built]
    needs_mount: bool = False
    may_change: str = ""    # a sub-folder the command may change (the spool a sync works in)


# -- helpers ----------------------------------------------------------------------------------------
def mount_tmpfs(where: Path, *options: str) -> None:
    """A tiny (64 KiB) or read-only file system at `where`; RuntimeError when mounting is not allowed."""
    where.mkdir(parents=True, exist_ok=True)
    opts = ",".join(("size=64k", *options))
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)], capture_output=True,
                       text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError(f"mount -t tmpfs not permitted here: {r.stderr.strip() or r.returncode}")


def unmount_all(root: Path) -> None:
    with open("/proc/mounts") as f:
        points = [line.split()[1] for line in f if line.split()[1].startswith(str(root))]
    for p in sorted(points, reverse=True):
        subprocess.run(["umount", "-l", p], capture_output=True, timeout=30)


def full_disk(t: Path) -> Path:
    """A 64 KiB tmpfs filled to the last byte by one file (which then stays as it is)."""
    mount_tmpfs(t / "full")
    with open(t / "full" / "filler", "wb", buffering=0) as f:
        try:
            while f.write(b"\0" * 1024):
                pass
        except OSError:  # ENOSPC: full
            pass
    return t / "full"


def read_only(t: Path) -> Path:
    """A folder nothing can be written in: read-only tmpfs (root ignores file modes), else mode 555."""
    where = t / "ro"
    if os.geteuid() == 0:
        mount_tmpfs(where, "ro")
    else:
        where.mkdir()
        where.chmod(0o555)
    return where


def copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def first(folder: Path, pattern: str) -> Path:
    return sorted(folder.glob(pattern))[0]


def dota_copy(d: Data, t: Path) -> tuple[Path, Path]:
    """A copy of the DOTA folder and its first label file."""
    src = copy(d.dota, t / "dota")
    return src, first(src / "labelTxt", "*.txt")


def append_row(label: Path, row: str) -> int:
    """Append a row to a label file; its line number."""
    lines = label.read_text().splitlines()
    label.write_text("\n".join(lines + [row]) + "\n")
    return len(lines) + 1


def hrsc_xml(d: Data, t: Path) -> tuple[Path, Path]:
    """A copy of the HRSC Annotations folder and its first XML."""
    ann = copy(d.hrsc / "FullDataSet" / "Annotations", t / "Annotations")
    return ann, first(ann, "*.xml")


def set_field(xml: Path, name: str, value: str) -> None:
    """Set the first <name> of the file to `value`."""
    text = xml.read_text()
    start = text.index(f"<{name}>") + len(name) + 2
    end = text.index(f"</{name}>", start)
    xml.write_text(text[:start] + value + text[end:])


def split_cmd(src: Path, out: Path) -> list[str]:
    return ["detlab", "data", "split", "--src", str(src), "--out", str(out), "--size", "256", "--gap", "32",
            "--quiet", "--workers", "1"]


def eval_dota(ann: Path, dets: Path, *extra: str) -> list[str]:
    return ["detlab", "evaluate", "--dataset", "dota", "--ann-dir", str(ann), "--det-dir", str(dets), *extra]


def eval_hrsc(ann: Path, dets: Path, *extra: str) -> list[str]:
    return ["detlab", "evaluate", "--dataset", "hrsc2016", "--ann-dir", str(ann), "--det-dir", str(dets), *extra]


def train_cmd(d: Data, config: Path, t: Path) -> list[str]:
    return ["detlab", "train", "--config", str(config), "--mlflow-uri", d.mlflow_uri,
            "--storage", str(t.parent / f"{t.name}-storage"), "--set", "runner.max_epochs=1"]


def train_config(t: Path, root: Path, body: str = "") -> Path:
    """A config inheriting the mini one, pointed at the HRSC root `root` (train on trainval, val on test)."""
    r = f"{root}/"
    text = (f"_base_ = [{str(MINI)!r}]\n"
            f"data = dict(samples_per_gpu=1, workers_per_gpu=0,\n"
            + "".join(f"    {s}=dict(ann_file={r + 'ImageSets/' + f + '.txt'!r}, "
                      f"ann_subdir={r + 'FullDataSet/Annotations/'!r}, img_subdir={r + 'FullDataSet/AllImages/'!r}, "
                      f"img_prefix={r + 'FullDataSet/AllImages/'!r}),\n"
                      for s, f in (("train", "trainval"), ("val", "test"), ("test", "test")))
            + ")\n" + body)
    path = t / "bad_config.py"
    path.write_text(text)
    return path


def hrsc_listed(root: Path, split: str = "trainval") -> str:
    return (root / "ImageSets" / f"{split}.txt").read_text().split()[0]


def study(t: Path, change: Callable[[dict], None] | None = None, text: str | bytes | None = None) -> Path:
    """A study spec in its own project folder (a pyproject.toml marks the root), good but for `change`."""
    (t / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    path = t / "study.yaml"
    if text is not None:
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return path
    data = yaml.safe_load(SMOKE_STUDY.read_text())
    data["base_config"] = str(MINI)
    data["dataset"]["root"] = str(t / "data")
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def ablation(t: Path, change: Callable[[dict], None] | None = None, text: str | None = None) -> Path:
    path = t / "ablation.yaml"
    if text is not None:
        path.write_text(text)
        return path
    data = yaml.safe_load(SMOKE_ABLATION.read_text())
    for cell in data["cells"]:
        cell["base_config"] = str(REPO / cell["base_config"])
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def journal(t: Path, *ops: dict) -> Path:
    """A spool holding one crafted session of run `r1` (no server behind its tracking URI)."""
    import json

    run_dir = t / "spool" / "r1"
    run_dir.mkdir(parents=True, exist_ok=True)
    header = {"seq": 0, "op": "open", "run_id": "r1", "session": "s1", "tracking_uri": "http://127.0.0.1:9"}
    lines = [header] + [{"seq": i, **op} for i, op in enumerate(ops, 1)]
    (run_dir / "s1.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return t / "spool"


# -- the cases ------------------------------------------------------------------------------------------
def _synth_full(d, t):
    out = full_disk(t) / "hrsc"
    return (["detlab", "data", "synth", "--dataset", "hrsc2016", "--images", "2", "--out", str(out), "--quiet",
             "--workers", "1"], [str(t / "full"), "no space left"])


def _synth_ro(d, t):
    out = read_only(t) / "hrsc"
    return (["detlab", "data", "synth", "--dataset", "hrsc2016", "--images", "1", "--out", str(out), "--quiet"],
            [str(t / "ro"), "read-only file system" if os.geteuid() == 0 else "permission denied"])


def _synth_parent_file(d, t):
    (t / "afile").write_text("x")
    out = t / "afile" / "hrsc"
    return (["detlab", "data", "synth", "--dataset", "hrsc2016", "--images", "1", "--out", str(out), "--quiet"],
            [str(t / "afile"), "not a folder"])


def _synth_zero(d, t):
    return (["detlab", "data", "synth", "--dataset", "dota", "--images", "0", "--out", str(t / "out")],
            ["--images 0", "at least 1"])


def _split_missing(d, t):
    return split_cmd(t / "nope", t / "out"), [str(t / "nope"), "no images folder"]


def _split_empty(d, t):
    (t / "empty" / "images").mkdir(parents=True)
    return split_cmd(t / "empty", t / "out"), [str(t / "empty" / "images"), "no images"]


def _split_row(row: str, *expect: str):
    def build(d, t):
        src, label = dota_copy(d, t)
        n = append_row(label, row)
        return split_cmd(src, t / "out"), [f"{label}:{n}", *expect]
    return build


def _split_non_utf8(d, t):
    src, label = dota_copy(d, t)
    label.write_bytes(label.read_bytes() + b"10 10 20 10 20 20 10 20 \xff\xfeplane 0\n")
    return split_cmd(src, t / "out"), [str(label), "not a text file"]


def _split_truncated_png(d, t):
    src, _ = dota_copy(d, t)
    img = first(src / "images", "*.png")
    data = img.read_bytes()
    img.write_bytes(data[:len(data) // 2])
    return split_cmd(src, t / "out"), [str(img), "truncated"]


def _split_zero_byte(d, t):
    src, _ = dota_copy(d, t)
    img = first(src / "images", "*.png")
    img.write_bytes(b"")
    return split_cmd(src, t / "out"), [str(img), "unreadable or truncated image"]


def _split_not_image(d, t):
    src, _ = dota_copy(d, t)
    img = first(src / "images", "*.png")
    img.write_text("this is not a picture\n")
    return split_cmd(src, t / "out"), [str(img), "unreadable or truncated image"]


def _split_full(d, t):
    src, _ = dota_copy(d, t)
    return split_cmd(src, full_disk(t) / "split"), [str(t / "full"), "no space left"]


def _split_ro(d, t):
    src, _ = dota_copy(d, t)
    return split_cmd(src, read_only(t) / "split"), [str(t / "ro")]


def _merge_empty(d, t):
    (t / "dets").mkdir()
    return (["detlab", "data", "merge", "--dets", str(t / "dets"), "--out", str(t / "out"), "--quiet"],
            [str(t / "dets"), "no detection files"])


def _merge_bad_row(d, t):
    dets = copy(d.dota_dets, t / "dets")
    f = dets / "Task1_plane.txt"
    n = len(f.read_text().splitlines()) + 1
    f.write_text(f.read_text() + "P0000__256__0___0 0.9 1 2 3\n")
    return (["detlab", "data", "merge", "--dets", str(dets), "--out", str(t / "out"), "--quiet"],
            [f"{f}:{n}", "expected 10 fields"])


def _merge_pickle(content: bytes, *expect: str):
    def build(d, t):
        pkl = t / "results.pkl"
        pkl.write_bytes(content)
        (t / "split" / "images").mkdir(parents=True)
        return (["detlab", "data", "merge", "--dets", str(pkl), "--split-dir", str(t / "split"),
                 "--out", str(t / "out"), "--quiet"], [str(pkl), *expect])
    return build


def _merge_pickle_no_split(d, t):
    pkl = t / "results.pkl"
    pkl.write_bytes(b"\x80\x04]\x94.")  # an empty list
    return (["detlab", "data", "merge", "--dets", str(pkl), "--out", str(t / "out"), "--quiet"],
            ["--split-dir is needed"])


def _eval_dota_empty(d, t):
    (t / "labels").mkdir()
    return eval_dota(t / "labels", d.dota_dets), [str(t / "labels"), "no annotation files"]


def _eval_dota_row(row: str, *expect: str):
    def build(d, t):
        _, label = dota_copy(d, t)
        n = append_row(label, row)
        return eval_dota(label.parent, d.dota_dets, "--out", str(t / "out")), [f"{label}:{n}", *expect]
    return build


def _eval_xml(change: Callable[[Path], None], *expect: str, line: bool = False):
    def build(d, t):
        ann, xml = hrsc_xml(d, t)
        change(xml)
        return eval_hrsc(ann, d.hrsc_dets, "--out", str(t / "out")), [str(xml), *expect]
    return build


def _truncate(xml: Path) -> None:
    xml.write_bytes(xml.read_bytes()[:300])


def _not_utf8(xml: Path) -> None:
    xml.write_bytes(xml.read_bytes().replace(b"<Img_ID>", b"<Img_ID>\xff\xfe", 1))


def _drop_field(name: str):
    def change(xml: Path) -> None:
        text = xml.read_text()
        start = text.index(f"<{name}>")
        end = text.index(f"</{name}>", start) + len(name) + 3
        xml.write_text(text[:start] + text[end:])
    return change


def _eval_image_set_missing(d, t):
    ann = d.hrsc / "FullDataSet" / "Annotations"
    return (eval_hrsc(ann, d.hrsc_dets, "--image-set", str(t / "ImageSets" / "test.txt")),
            [str(t / "ImageSets" / "test.txt"), "cannot read"])


def _eval_task1(edit: Callable[[Path], int], *expect: str):
    def build(d, t):
        dets = copy(d.hrsc_dets, t / "dets")
        f = dets / "Task1_ship.txt"
        n = edit(f)
        where = f"{f}:{n}" if n else str(f)
        return eval_hrsc(d.hrsc / "FullDataSet" / "Annotations", dets, "--out", str(t / "out")), [where, *expect]
    return build


def _task1_append(row: str):
    def edit(f: Path) -> int:
        lines = f.read_text().splitlines()
        f.write_text("\n".join(lines + [row]) + "\n")
        return len(lines) + 1
    return edit


def _task1_non_utf8(f: Path) -> int:
    f.write_bytes(f.read_bytes() + b"\xff\xfe\n")
    return 0


def _eval_det_dir_empty(d, t):
    (t / "dets").mkdir()
    return eval_hrsc(d.hrsc / "FullDataSet" / "Annotations", t / "dets"), [str(t / "dets"), "no detection files"]


def _eval_out(where: Callable[[Path], Path], *expect: str):
    def build(d, t):
        folder = where(t)
        return (eval_hrsc(d.hrsc / "FullDataSet" / "Annotations", d.hrsc_dets, "--out", str(folder / "eval")),
                [str(folder), *expect])
    return build


def _train_config(text: str, *expect: str, line: int | None = None):
    def build(d, t):
        cfg = t / "bad_config.py"
        cfg.write_bytes(text.encode() if isinstance(text, str) else text)
        return train_cmd(d, cfg, t), [f"{cfg}:{line}" if line else str(cfg), *expect]
    return build


def _train_data(change: Callable[[Path], Path], *expect: str, with_file: bool = True):
    """Training on a copy of the HRSC root broken by `change` (returns the file the error must name)."""
    def build(d, t):
        root = copy(d.hrsc, t / "hrsc")
        named = change(root)
        return train_cmd(d, train_config(t, root), t), [str(named), *expect]
    return build


def _no_imagesets(root: Path) -> Path:
    (root / "ImageSets" / "trainval.txt").unlink()
    return root / "ImageSets" / "trainval.txt"


def _train_xml_truncated(root: Path) -> Path:
    xml = root / "FullDataSet" / "Annotations" / f"{hrsc_listed(root)}.xml"
    _truncate(xml)
    return xml


def _train_image(content: Callable[[bytes], bytes]):
    def change(root: Path) -> Path:
        img = root / "FullDataSet" / "AllImages" / f"{hrsc_listed(root)}.bmp"
        img.write_bytes(content(img.read_bytes()))
        return img
    return change


def _train_empty_root(d, t):
    (t / "hrsc").mkdir()
    return train_cmd(d, train_config(t, t / "hrsc"), t), [f"{t / 'hrsc'}/ImageSets/trainval.txt",
                                                         "dataset path not found: data.train.ann_file"]


def _sweep_change(change, *expect: str, cli: str = "detlab"):
    def build(d, t):
        path = study(t, change)
        head = ["detlab", "sweep"] if cli == "detlab" else ["sweep.py"]
        return head + ["--study", str(path), "--storage", str(t / "sweeps")], [str(path), *expect]
    return build


def _sweep_text(text, *expect: str, cli: str = "detlab"):
    def build(d, t):
        path = study(t, text=text)
        head = ["detlab", "sweep"] if cli == "detlab" else ["sweep.py"]
        return head + ["--study", str(path), "--storage", str(t / "sweeps")], [str(path), *expect]
    return build


def _sweep_base_syntax(d, t):
    cfg = t / "broken.py"
    cfg.write_text("model = dict(type='X'\n")
    path = study(t, lambda s: s.update(base_config=str(cfg)))
    return (["sweep.py", "--study", str(path), "--storage", str(t / "sweeps")],
            [str(path), "base_config", f"{cfg}:1", "syntax error"])


def _ablate_change(change, *expect: str, command: str = "ablate"):
    def build(d, t):
        path = ablation(t, change)
        head = ["detlab", "ablate", "run", str(path), "--storage", str(t / "sweeps"), "--trainer", "toy"] \
            if command == "ablate" else ["detlab", "report", str(path), "--out", str(t / "report"), "--trainer", "toy"]
        return head, [str(path), *expect]
    return build


def _ablate_text(text: str, *expect: str, command: str = "ablate"):
    def build(d, t):
        path = ablation(t, text=text)
        head = ["detlab", "ablate", "run", str(path), "--storage", str(t / "sweeps")] if command == "ablate" \
            else ["detlab", "report", str(path), "--out", str(t / "report")]
        return head, [str(path), *expect]
    return build


def _ablate_missing(command: str):
    def build(d, t):
        path = t / "nope.yaml"
        head = ["detlab", "ablate", "run", str(path)] if command == "ablate" else ["detlab", "report", str(path)]
        return head, [str(path), "no such file"]
    return build


def _sync_spool_missing(d, t):
    return ["detlab", "mlflow", "sync", "--spool", str(t / "nope")], [str(t / "nope"), "no such directory"]


def _sync_run_dotdot(d, t):
    (t / "spool").mkdir()
    return ["detlab", "mlflow", "sync", "--spool", str(t / "spool"), "--run", "../etc"], ["'../etc'",
                                                                                           "not a plain name"]


def _sync_artifact(local: Callable[[Path], str], dest: str | None, *expect: str):
    def build(d, t):
        spool = journal(t, {"op": "artifact", "local": local(t), "artifact_path": dest})
        return (["detlab", "mlflow", "sync", "--spool", str(spool)],
                [f"{spool}/r1/s1.jsonl", "seq 1", *expect])
    return build


def _outside_file(t: Path) -> str:
    (t / "secret.txt").write_text("not for MLflow\n")
    return str(t / "secret.txt")


def _inside_file(t: Path) -> str:
    blob = t / "spool" / "r1" / "blobs" / "s1" / "x" / "notes.txt"
    blob.parent.mkdir(parents=True)
    blob.write_text("fine\n")
    return str(blob)


def _sync_symlinked_run(d, t):
    (t / "elsewhere").mkdir()
    (t / "elsewhere" / "s1.jsonl").write_text('{"seq": 0, "op": "open", "tracking_uri": "http://127.0.0.1:9"}\n')
    (t / "spool").mkdir()
    (t / "spool" / "r1").symlink_to(t / "elsewhere")
    return (["detlab", "mlflow", "sync", "--spool", str(t / "spool")],
            [f"{t / 'spool' / 'r1'}", "link out of the spool"])


CASES: list[Case] = [
    # detlab data synth
    Case("synth-full-disk", "data synth", "output on a full disk (64 KiB tmpfs)", _synth_full, needs_mount=True),
    Case("synth-read-only-out", "data synth", "output folder not writable (read-only mount)", _synth_ro,
         needs_mount=True),
    Case("synth-out-under-a-file", "data synth", "--out below a regular file", _synth_parent_file),
    Case("synth-zero-images", "data synth", "--images 0", _synth_zero),
    # detlab data split
    Case("split-src-missing", "data split", "--src folder absent", _split_missing),
    Case("split-src-empty", "data split", "empty images/ folder", _split_empty),
    Case("split-label-nan", "data split", "label row with a NaN coordinate",
         _split_row("nan 10 20 10 20 20 10 20 plane 0", "coordinate 1", "not a finite number")),
    Case("split-label-huge", "data split", "label row with a coordinate of 1e300",
         _split_row("10 10 1e300 10 20 20 10 20 plane 0", "coordinate 3", "beyond")),
    Case("split-label-self-intersecting", "data split", "self-intersecting (bow-tie) polygon",
         _split_row("10 10 30 30 30 10 10 30 plane 0", "self-intersecting polygon")),
    Case("split-label-unknown-class", "data split", "unknown class name",
         _split_row("10 10 30 10 30 30 10 30 car 0", "unknown class 'car'")),
    Case("split-label-7-coordinates", "data split", "row with 7 coordinates",
         _split_row("10 10 30 10 30 30 10 plane 0", "expected 8 coordinates")),
    Case("split-label-bad-difficult", "data split", "difficult flag not 0/1/2",
         _split_row("10 10 30 10 30 30 10 30 plane x", "difficult flag is 'x'")),
    Case("split-label-non-utf8", "data split", "label file with bytes that are not UTF-8", _split_non_utf8),
    Case("split-image-truncated", "data split", "PNG cut in half", _split_truncated_png),
    Case("split-image-zero-byte", "data split", "0-byte image", _split_zero_byte),
    Case("split-image-not-an-image", "data split", "text file named .png", _split_not_image),
    Case("split-full-disk", "data split", "output on a full disk (64 KiB tmpfs)", _split_full, needs_mount=True),
    Case("split-read-only-out", "data split", "output folder not writable", _split_ro, needs_mount=True),
    # detlab data merge
    Case("merge-dets-empty", "data merge", "empty detections folder", _merge_empty),
    Case("merge-task1-short-row", "data merge", "Task1 row with 5 fields", _merge_bad_row),
    Case("merge-pickle-corrupt", "data merge", "results .pkl of random bytes",
         _merge_pickle(b"\x00\x13garbage", "not a results pickle")),
    Case("merge-pickle-empty", "data merge", "0-byte results .pkl", _merge_pickle(b"", "not a results pickle")),
    Case("merge-pickle-not-a-list", "data merge", "results .pkl holding a dict",
         _merge_pickle(b"\x80\x04}\x94.", "holds a dict")),
    Case("merge-pickle-no-split-dir", "data merge", ".pkl without --split-dir", _merge_pickle_no_split),
    # detlab evaluate
    Case("eval-dota-ann-empty", "evaluate", "empty labelTxt folder", _eval_dota_empty),
    Case("eval-dota-label-inf", "evaluate", "DOTA label with an inf coordinate",
         _eval_dota_row("10 10 inf 10 20 20 10 20 plane 0", "coordinate 3", "not a finite number")),
    Case("eval-dota-label-unknown-class", "evaluate", "DOTA label with an unknown class",
         _eval_dota_row("10 10 30 10 30 30 10 30 boat 0", "unknown class 'boat'")),
    Case("eval-dota-label-huge", "evaluate", "DOTA label with a coordinate of -1e9",
         _eval_dota_row("10 10 30 10 30 -1e9 10 30 ship 0", "coordinate 6", "beyond")),
    Case("eval-hrsc-xml-truncated", "evaluate", "HRSC XML cut after 300 bytes",
         _eval_xml(_truncate, "malformed XML")),
    Case("eval-hrsc-xml-non-utf8", "evaluate", "HRSC XML with bytes that are not UTF-8",
         _eval_xml(_not_utf8, "malformed XML")),
    Case("eval-hrsc-xml-missing-field", "evaluate", "HRSC object without mbox_w",
         _eval_xml(_drop_field("mbox_w"), "field mbox_w: missing")),
    Case("eval-hrsc-xml-nan", "evaluate", "HRSC mbox_cx = nan",
         _eval_xml(lambda x: set_field(x, "mbox_cx", "nan"), "field mbox_cx", "not a finite number")),
    Case("eval-hrsc-xml-huge", "evaluate", "HRSC mbox_cy = 1e300",
         _eval_xml(lambda x: set_field(x, "mbox_cy", "1e300"), "field mbox_cy", "beyond")),
    Case("eval-hrsc-xml-zero-area", "evaluate", "HRSC box of width 0 (zero area)",
         _eval_xml(lambda x: set_field(x, "mbox_w", "0"), "degenerate box")),
    Case("eval-image-set-missing", "evaluate", "--image-set file absent", _eval_image_set_missing),
    Case("eval-task1-nan-score", "evaluate", "Task1 row with score nan",
         _eval_task1(_task1_append("100000001 nan 1 1 5 1 5 5 1 5"), "score is 'nan'")),
    Case("eval-task1-unknown-image", "evaluate", "Task1 row naming an image without annotation",
         _eval_task1(_task1_append("no_such_image 0.5 1 1 5 1 5 5 1 5"), "has no annotation")),
    Case("eval-task1-non-utf8", "evaluate", "Task1 file with bytes that are not UTF-8",
         _eval_task1(_task1_non_utf8, "not a text file")),
    Case("eval-det-dir-empty", "evaluate", "empty detections folder", _eval_det_dir_empty),
    Case("eval-out-full-disk", "evaluate", "--out on a full disk (64 KiB tmpfs)",
         _eval_out(full_disk, "no space left"), needs_mount=True),
    Case("eval-out-read-only", "evaluate", "--out folder not writable", _eval_out(read_only), needs_mount=True),
    # detlab train (all fail in preflight, before any training)
    Case("train-config-syntax", "train", "config with a Python syntax error",
         _train_config(f"_base_ = [{str(MINI)!r}]\nmodel = dict(type='RotatedRetinaNet'\n", "Python syntax error",
                       line=2)),
    Case("train-config-not-utf8", "train", "config with bytes that are not UTF-8",
         _train_config(b"_base_ = []\n# \xff\xfe\n", "not UTF-8 text", line=2)),
    Case("train-config-name-error", "train", "config using an undefined name",
         _train_config("model = dict(type=RetinaNet)\n", "does not load", "NameError")),
    Case("train-config-missing-base", "train", "_base_ file absent",
         _train_config("_base_ = ['no_such_base.py']\n", "no_such_base.py")),
    Case("train-config-no-data", "train", "config without a data key",
         _train_config("model = dict(type='RotatedRetinaNet')\noptimizer = dict(type='SGD', lr=0.01)\n"
                       "runner = dict(type='EpochBasedRunner', max_epochs=1)\n", "no `data.train`")),
    Case("train-imagesets-missing", "train", "ImageSets/trainval.txt absent",
         _train_data(_no_imagesets, "dataset path not found: data.train.ann_file")),
    Case("train-data-root-empty", "train", "dataset root an empty folder", _train_empty_root),
    Case("train-xml-truncated", "train", "a training XML cut short",
         _train_data(_train_xml_truncated, "malformed XML")),
    Case("train-image-zero-byte", "train", "a training image of 0 bytes",
         _train_data(_train_image(lambda b: b""), "unreadable or truncated image")),
    Case("train-image-truncated", "train", "a training BMP cut in half",
         _train_data(_train_image(lambda b: b[:len(b) // 2]), "truncated image")),
    # detlab sweep / experiments/sweep.py
    Case("sweep-yaml-syntax", "sweep", "study spec that is not YAML",
         _sweep_text("name: x\nsearch_space: {a: [1, 2\n", "not valid YAML")),
    Case("sweep-not-a-mapping", "experiments/sweep.py", "study spec that is a list",
         _sweep_text("- 1\n- 2\n", "a study spec is a mapping", cli="script")),
    Case("sweep-empty-file", "sweep", "empty study spec", _sweep_text("", "a study spec is a mapping")),
    Case("sweep-not-utf8", "sweep", "study spec with bytes that are not UTF-8",
         _sweep_text(b"name: \xff\xfe\n", "not UTF-8 text")),
    Case("sweep-missing-field", "experiments/sweep.py", "study spec without search_space",
         _sweep_change(lambda s: s.pop("search_space"), "search_space", cli="script")),
    Case("sweep-base-config-missing", "sweep", "base_config file absent",
         _sweep_change(lambda s: s.update(base_config="configs/none.py"), "base_config: no such file")),
    Case("sweep-base-config-syntax", "experiments/sweep.py", "base_config with a syntax error", _sweep_base_syntax),
    # detlab ablate run
    Case("ablate-yaml-syntax", "ablate run", "ablation that is not YAML",
         _ablate_text("cells: [\n", "not valid YAML")),
    Case("ablate-no-cells", "ablate run", "ablation without cells",
         _ablate_change(lambda a: a.pop("cells"), "cells")),
    Case("ablate-unknown-field", "ablate run", "misspelt field",
         _ablate_change(lambda a: a.update(seed=[0]), "seed", "unknown field")),
    Case("ablate-missing-file", "ablate run", "ablation file absent", _ablate_missing("ablate")),
    # detlab report
    Case("report-yaml-syntax", "report", "ablation that is not YAML",
         _ablate_text("cells: [\n", "not valid YAML", command="report")),
    Case("report-missing-file", "report", "ablation file absent", _ablate_missing("report")),
    # detlab mlflow sync
    Case("sync-spool-missing", "mlflow sync", "--spool folder absent", _sync_spool_missing),
    Case("sync-run-dotdot", "mlflow sync", "--run ../etc", _sync_run_dotdot),
    Case("sync-artifact-outside", "mlflow sync", "journal naming an artifact file outside the spool",
         _sync_artifact(_outside_file, None, "outside the spool"), may_change="spool"),
    Case("sync-artifact-dotdot-dest", "mlflow sync", "journal naming artifact destination ../../x",
         _sync_artifact(_inside_file, "../../x", "leaves the run's artifact root"), may_change="spool"),
    Case("sync-artifact-absolute-dest", "mlflow sync", "journal naming artifact destination /etc",
         _sync_artifact(_inside_file, "/etc", "not a relative path"), may_change="spool"),
    Case("sync-run-symlink", "mlflow sync", "spool run folder that is a link out of the spool",
         _sync_symlinked_run),
]
