"""IN lists padded to a few lengths, so that a statement's SQL takes a few shapes instead of one per length.

SQLAlchemy renders `column.in_(values)` with one placeholder per value, at execution: a list of 37 ids and
one of 38 make two SQL strings, and each string is a statement of its own to the driver. PostgreSQL's
driver prepares each on the server (a round trip) and keeps 100 per connection: bench_alerts' PostgreSQL
run sent 380 distinct strings for 63 statements and prepared 1,303 times for 6,125 executions. SQLite parses
each string again once its connection's statement cache is past. Padding a list with its own last value
changes no result (IN ignores repeats) and keeps every statement to a handful of shapes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")

# Lists this short keep their length (presses and copies come one to a few at a time); longer ones are padded
# to the next power of two.
EXACT_UP_TO = 4


def padded(values: Iterable[T]) -> list[T]:
    """`values` as a list padded with its last value to one of a few lengths: 0-4, then powers of two."""
    items = list(values)
    if len(items) <= EXACT_UP_TO:
        return items
    size = EXACT_UP_TO
    while size < len(items):
        size *= 2
    return items + [items[-1]] * (size - len(items))
