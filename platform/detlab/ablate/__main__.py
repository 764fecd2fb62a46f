"""`python -m detlab.ablate [DOC.md ...]`: regenerate the ablation field reference in Markdown files."""

from __future__ import annotations

import sys

from detlab.specs.reference import ABLATION_REFERENCE

if __name__ == "__main__":
    ABLATION_REFERENCE.regenerate(sys.argv[1:])
