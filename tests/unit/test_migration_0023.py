"""Revision 0023: three nullable branding columns on ``sites``, dropped in place on the way
down (no rebuild of a table other rows point at)."""
from sqlalchemy import inspect

from ..dbsetup import migrate_to, scratch_database

COLUMNS = {"logo_key", "header_image_key", "accent_color"}


def _columns(engine):
    return {c["name"] for c in inspect(engine).get_columns("sites")}


def test_branding_columns_come_and_go(tmp_path):
    with scratch_database("furusato_migration_0023", tmp_path) as engine:
        migrate_to(engine, "upgrade", "0023_site_branding")
        assert COLUMNS <= _columns(engine)
        migrate_to(engine, "downgrade", "0022_import_uploads")
        assert not COLUMNS & _columns(engine)
        migrate_to(engine, "upgrade", "0023_site_branding")
        assert COLUMNS <= _columns(engine)
