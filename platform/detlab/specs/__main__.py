"""`python -m detlab.specs [DOC.md ...]`: regenerate the spec field reference in Markdown files."""

from __future__ import annotations

import sys
from pathlib import Path

from detlab.specs.study import update_reference


def main(paths: list[str]) -> None:
    for path in paths or ["docs/studies.md"]:
        file = Path(path)
        file.write_text(update_reference(file.read_text()))


if __name__ == "__main__":
    main(sys.argv[1:])
