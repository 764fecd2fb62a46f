"""``detlab predict``: detections on loose images, as text, pictures and an HTML index.

Per image ``<stem>.txt`` (``class score x1 y1 ... x4 y4``) and ``<stem>.png`` (the boxes
drawn); ``index.html`` shows all pictures with their counts. The output folder is
written all or nothing (``detlab.atomic``).
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from detlab.atomic import atomic_output_dir
from detlab.errors import UserError
from detlab.inference.model import build_model, load_test_config
from detlab.inference.source import ModelSource

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


def collect_images(inputs: Sequence[str]) -> list[Path]:
    """Files given, and the images of folders given (sorted); none at all is an error."""
    found: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found += sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_EXTS and not f.name.startswith("."))
        elif p.is_file():
            if p.suffix.lower() not in IMAGE_EXTS:
                raise UserError(f"--images {p}: not an image ({', '.join(IMAGE_EXTS)})")
            found.append(p)
        else:
            raise UserError(f"--images {p}: no such file or folder")
    if not found:
        raise UserError(f"--images {' '.join(inputs)}: no images ({', '.join(IMAGE_EXTS)})")
    stems = [f.stem for f in found]
    dup = next((s for s in stems if stems.count(s) > 1), None)
    if dup:
        raise UserError(f"--images: two images named {dup!r} (their outputs would overwrite each other)")
    return found


def _read(path: Path):
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise UserError(f"{path}: unreadable image (cv2 could not decode it)")
    return img


def index_html(title: str, entries: Sequence[dict]) -> str:
    """A page of thumbnails (click for full size) with each image's detection count and classes."""
    cards = []
    for e in entries:
        counts = ", ".join(f"{html.escape(c)} {n}" for c, n in sorted(e["counts"].items(), key=lambda x: -x[1]))
        cards.append(
            f'<figure><a href="{html.escape(e["png"])}"><img src="{html.escape(e["png"])}" '
            f'loading="lazy"></a><figcaption><b>{html.escape(e["image"])}</b> '
            f"{e['width']}&times;{e['height']}, {e['patches']} patch(es): {e['detections']} "
            f'detections<br>{counts or "none"} &middot; <a href="{html.escape(e["txt"])}">txt</a>'
            f"</figcaption></figure>"
        )
    return (
        "<!doctype html><meta charset=utf-8><title>{t}</title><style>body{{font-family:sans-serif;"
        "margin:1em}}main{{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:1em}}"
        "figure{{margin:0}}img{{width:100%;border:1px solid #ccc}}figcaption{{font-size:90%}}</style>"
        "<h1>{t}</h1><main>{c}</main>\n"
    ).format(t=html.escape(title), c="".join(cards))


@dataclass(frozen=True)
class PredictOptions:
    """How ``run_predict`` runs; the fields are ``detlab predict``'s options of the same names."""

    score_thr: float = 0.3
    sets: Sequence[str] = ()
    device: str = "cpu"
    gap: int | None = None  # overlap of the patches of a large image; None: a fifth of the input size
    overwrite: bool = False
    progress: bool = True


def run_predict(
    source: ModelSource, images: Sequence[str], out: str, options: PredictOptions = PredictOptions()
) -> dict:
    """Detect on every image; returns the summary the CLI prints."""
    import cv2
    from tqdm import tqdm

    from detlab.inference.draw import class_colors, draw_detections
    from detlab.inference.patches import detect_image, filter_score, input_size, task1_lines, windows_of

    score_thr, gap = options.score_thr, options.gap
    if not 0 <= score_thr <= 1:
        raise UserError(f"--score-thr {score_thr}: must be in [0, 1]")
    files = collect_images(images)
    cfg = load_test_config(source.config, options.sets, options.device)
    model = build_model(cfg, source.checkpoint, source.config, source.classes)
    size = input_size(cfg)
    gap = size // 5 if gap is None else gap
    if not 0 <= gap < size:
        raise UserError(f"--gap {gap}: must be in [0, {size}) (the model's input size is {size})")
    colors = class_colors(model.CLASSES)
    meta = dict(tool="detlab predict", source=source.describe, score_thr=score_thr, input_size=size, gap=gap)
    entries = []
    with atomic_output_dir(out, options.overwrite, meta) as root:
        for path in tqdm(files, desc="predict", unit="img", disable=not options.progress):
            img = _read(path)
            dets = detect_image(model, img, path.stem, size, gap)
            rows = filter_score(dets, score_thr)
            (root / f"{path.stem}.txt").write_text(task1_lines(rows))
            if not cv2.imwrite(str(root / f"{path.stem}.png"), draw_detections(img, rows, colors)):
                raise OSError(f"{root / path.stem}.png: cv2 could not write the picture")
            counts: dict[str, int] = {}
            for name, _, _ in rows:
                counts[name] = counts.get(name, 0) + 1
            entries.append(
                dict(
                    image=path.name,
                    png=f"{path.stem}.png",
                    txt=f"{path.stem}.txt",
                    width=img.shape[1],
                    height=img.shape[0],
                    detections=len(rows),
                    counts=counts,
                    patches=len(windows_of(img, size, gap)),
                )
            )
        (root / "index.html").write_text(index_html(f"detlab predict: {source.describe}", entries))
        meta["images"] = [{k: e[k] for k in ("image", "detections", "patches")} for e in entries]
    return {
        "out": os.path.abspath(out),
        "source": source.describe,
        "images": len(entries),
        "detections": sum(e["detections"] for e in entries),
        "index": os.path.join(os.path.abspath(out), "index.html"),
    }
