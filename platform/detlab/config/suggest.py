"""Close matches for a misspelt key, shared by config overrides and study spec fields."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["suggest"]


def suggest(word: str, names: Iterable[object], n: int = 3) -> list[str]:
    """Names that `word` probably meant, best first.

    Names containing the word come first (`grace` -> `grace_period`); then
    difflib's matches, keeping only those about as close as the best one, since
    dotted keys sharing a long prefix all look similar to difflib.
    """
    texts = [str(name) for name in names]
    found = [name for name in texts if len(word) >= 3 and word in name and name != word]
    scored = sorted(((difflib.SequenceMatcher(None, word, name).ratio(), name) for name in texts), reverse=True)
    if scored and scored[0][0] >= 0.6:
        best = scored[0][0]
        found += [name for ratio, name in scored if ratio >= max(0.6, best - 0.05) and name not in found]
    return found[:n]
