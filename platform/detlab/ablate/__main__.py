"""`python -m detlab.ablate [DOC.md ...]`: regenerate the ablation field reference in Markdown files."""

from __future__ import annotations

import sys
from pathlib import Path

from detlab.specs.ablation import update_reference


def main(paths: list[str]) -> None:
    for path in paths or ["docs/ablations.md"]:
        file = Path(path)
        file.write_text(update_reference(file.read_text()))


if __name__ == "__main__":
    main(sys.argv[1:])
