"""Alembic environment of the store's migrations.

`punchbridge.store.Store.open` runs them: it passes its open connection (inside a transaction it
owns) as `config.attributes["connection"]`, so a migration commits together with the version stamp or
not at all. For development, `alembic -x url=sqlite:///dev.db upgrade head` with a config naming this
folder as `script_location` works too (`-x url=...` or `sqlalchemy.url`).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from punchbridge.store.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    applied = config.attributes.get("on_version_apply")  # `migrate`'s progress, when it was given one
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        on_version_apply=applied,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: open the store with punchbridge.store.Store.open, or pass -x url=...")
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported; open the store to migrate it")
run_migrations_online()
