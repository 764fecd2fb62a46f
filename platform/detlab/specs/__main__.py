"""`python -m detlab.specs [DOC.md ...]`: regenerate the spec field reference in Markdown files."""

from __future__ import annotations

import sys
from pathlib import Path

from detlab.specs.reference import STUDY_REFERENCE


def main(paths: list[str]) -> None:
    for path in paths or [STUDY_REFERENCE.doc]:
        file = Path(path)
        file.write_text(STUDY_REFERENCE.update(file.read_text()))


if __name__ == "__main__":
    main(sys.argv[1:])
