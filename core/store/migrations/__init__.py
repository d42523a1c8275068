"""Alembic migrations of the punchbridge store."""
