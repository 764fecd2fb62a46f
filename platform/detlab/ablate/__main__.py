"""`python -m detlab.ablate [DOC.md ...]`: regenerate the ablation field reference in Markdown files."""

from __future__ import annotations

import sys
from pathlib import Path

from detlab.specs.reference import ABLATION_REFERENCE


def main(paths: list[str]) -> None:
    for path in paths or [ABLATION_REFERENCE.doc]:
        file = Path(path)
        file.write_text(ABLATION_REFERENCE.update(file.read_text()))


if __name__ == "__main__":
    main(sys.argv[1:])
