"""`python -m detlab.specs [DOC.md ...]`: regenerate the spec field reference in Markdown files."""

from __future__ import annotations

import sys

from detlab.specs.reference import STUDY_REFERENCE

if __name__ == "__main__":
    STUDY_REFERENCE.regenerate(sys.argv[1:])
