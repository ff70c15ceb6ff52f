"""The fuzzy match behind PostgREST's "Perhaps you meant 'teams' instead of 'team'" hints.

PostgREST asks a fuzzy string set (bigrams and trigrams, cosine similarity, then the
50 best re-ranked by normalised Levenshtein similarity, 0.33 at least) for the names it
knows; an exact match scores 1.0. This is that algorithm, for the same hints.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Final

__all__ = ["fuzzy_matches"]

_MIN_SCORE: Final = 0.33


def _normalized(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum() or c.isspace() or c == ",")


def _grams(text: str, size: int) -> Counter[str]:
    padded = f"-{_normalized(text)}-"
    return Counter(padded[i : i + size] for i in range(len(padded) - size + 1))


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _similarity(a: str, b: str) -> float:
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1 - _levenshtein(a, b) / longest


def fuzzy_matches(wanted: str, names: Iterable[str]) -> list[tuple[float, str]]:
    """Scored matches of ``wanted`` among ``names``, best first (``Fuzzy.get``)."""
    entries = list(dict.fromkeys(names))
    key = wanted.lower()
    exact = {name.lower(): name for name in entries}
    if key in exact:
        return [(1.0, exact[key])]
    for size in (3, 2):
        query = _grams(key, size)
        query_norm = math.sqrt(sum(n * n for n in query.values()))
        scored = []
        for name in entries:
            lowered = name.lower()
            grams = _grams(lowered, size)
            dot = sum(count * grams[gram] for gram, count in query.items() if gram in grams)
            if dot:
                norm = math.sqrt(sum(n * n for n in grams.values()))
                scored.append((dot / (query_norm * norm), lowered, name))
        scored.sort(key=lambda item: -item[0])
        reranked = sorted(
            ((_similarity(key, lowered), name) for _, lowered, name in scored[:50]),
            key=lambda item: -item[0],
        )
        results = [item for item in reranked if item[0] >= _MIN_SCORE]
        if results:
            return results
    return []
