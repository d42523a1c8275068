"""The fast 'schema is current' check names the real newest migration."""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory

from punchbridge.store import database


def test_head_revision_constant_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(database.MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [database.HEAD_REVISION]
