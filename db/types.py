"""Column helpers shared by the tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Table
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.sqltypes import UTCDateTime

UTC_NOW = lambda: datetime.now(UTC)  # noqa: E731 - a default factory, not a function to document


def big_int_column(*, nullable: bool = False, index: bool = False, unique: bool = False) -> Column[Any]:
    """A 64-bit integer column: Telegram ids exceed 32 bits."""
    return Column(BigInteger, nullable=nullable, index=index, unique=unique)


def utc_column(*, nullable: bool = False, index: bool = False) -> Column[Any]:
    """A time-zone-aware timestamp column (always stored in UTC)."""
    return Column(UTCDateTime(), nullable=nullable, index=index)


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a SQLModel class (for bulk statements the ORM would run row by row)."""
    table = model.__dict__.get("__table__")
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return table


def dialect_insert(session: AsyncSession) -> Any:
    """The INSERT of the session's database, with its ON CONFLICT clauses (PostgreSQL's or SQLite's).

    Imported here, when first needed: PostgreSQL's dialect package (2.3 MiB resident) stays out of a bot
    that runs on SQLite.
    """
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert
