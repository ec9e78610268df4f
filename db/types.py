"""Column helpers shared by the tables."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Column
from sqlmodel.sql.sqltypes import UTCDateTime

UTC_NOW = lambda: datetime.now(UTC)  # noqa: E731 - a default factory, not a function to document


def big_int_column(*, nullable: bool = False, index: bool = False, unique: bool = False) -> Column:
    """A 64-bit integer column: Telegram ids exceed 32 bits."""
    return Column(BigInteger, nullable=nullable, index=index, unique=unique)


def utc_column(*, nullable: bool = False, index: bool = False) -> Column:
    """A time-zone-aware timestamp column (always stored in UTC)."""
    return Column(UTCDateTime(), nullable=nullable, index=index)
