"""Title search of the session list: each word of a title, lowercased, in a table of its own.

`q=` matches a session when every word of `q` is the start of a word of its title (case-folded).
A search is driven by the index of words when its rarest term has few matches (each counted as a
bounded index range), and otherwise filters the list's own index ranges, where matches are then
dense (ADR 0042).
"""

from __future__ import annotations

import re
from typing import Any

from projections.base import ViewCursor

TABLES = {
    "session_title_words": "word TEXT NOT NULL, session_id TEXT NOT NULL, PRIMARY KEY (word, session_id)",
}
INDEXES = (
    "CREATE INDEX IF NOT EXISTS session_title_words_session ON session_title_words (session_id, word)",
)
WORD = re.compile(r"\w+")
WORD_LENGTH = 40
MAX_TERMS = 8
# Up to this many title words start with the driving term: read them and sort; beyond, the
# matches are dense enough that the list's index ranges find a page quickly.
SPARSE = 5_000
_TOP = "\U0010ffff"


def words(text: str) -> list[str]:
    """The distinct words of a text, case-folded, in order of first appearance."""
    found = dict.fromkeys(w[:WORD_LENGTH] for w in WORD.findall(text.casefold()))
    return list(found)


def terms(q: str | None) -> list[str]:
    """The words of a search (at most MAX_TERMS, the longest first); empty when it has none."""
    if q is None:
        return []
    return sorted(words(q), key=len, reverse=True)[:MAX_TERMS]


def index(cur: ViewCursor, session_id: str, title: str) -> None:
    """Record a session's title words (a title is set once, by the session's first turn)."""
    cur.execute("DELETE FROM session_title_words WHERE session_id = ?", (session_id,))
    for word in words(title):
        cur.execute("INSERT INTO session_title_words (word, session_id) VALUES (?, ?)", (word, session_id))


def prefix_range(term: str) -> tuple[str, str]:
    """The word range `[term, term + top)` holding exactly the words that start with `term`."""
    return term, term + _TOP


def matches_up_to(cur: ViewCursor, term: str, most: int) -> int:
    """How many title words start with `term`, counted no further than `most + 1`."""
    low, high = prefix_range(term)
    row = cur.execute(
        "SELECT COUNT(*) AS n FROM (SELECT word FROM session_title_words WHERE word >= ? AND word < ? "
        "ORDER BY word LIMIT ?) q",
        (low, high, most + 1),
    ).fetchone()
    return 0 if row is None else int(row["n"])


def driving(cur: ViewCursor, search: list[str]) -> list[str] | None:
    """The search with its rarest term first when that term has few matches, else None (dense)."""
    counted = sorted((matches_up_to(cur, term, SPARSE), -len(term), term) for term in search)
    count, _, term = counted[0]
    if count > SPARSE:
        return None
    return [term, *(t for t in search if t != term)]


def having_words(session_column: str, search: list[str]) -> tuple[list[str], list[Any]]:
    """Conditions that the session of `session_column` has a word starting with each term."""
    where: list[str] = []
    params: list[Any] = []
    for term in search:
        where.append(
            f"EXISTS (SELECT 1 FROM session_title_words w WHERE w.session_id = {session_column} "
            "AND w.word >= ? AND w.word < ?)"
        )
        params.extend(prefix_range(term))
    return where, params


def driven(driving: str) -> tuple[str, list[Any]]:
    """The sessions with a word starting with the driving term (a range of the word index)."""
    return (
        "SELECT DISTINCT session_id FROM session_title_words WHERE word >= ? AND word < ?",
        list(prefix_range(driving)),
    )
