"""What every table module shares: the one `metadata` and the column types that compare alike on both databases."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Integer, MetaData, Text
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine

__all__ = ["NAMING_CONVENTION", "id_type", "key_type", "metadata", "one_of"]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def id_type() -> TypeEngine[int]:
    """BIGINT key; on SQLite `INTEGER PRIMARY KEY` (the rowid, assigned in insertion order)."""
    return BigInteger().with_variant(Integer(), "sqlite")


def key_type() -> TypeEngine[str]:
    """Text compared bytewise on both databases."""
    return Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")


def one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    """A check that `column` holds one of `values`."""
    allowed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)
