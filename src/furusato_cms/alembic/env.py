"""Alembic environment: the database URL comes from FURUSATO_DB_URL or the ini's app section."""
from alembic import context
from pyramid.paster import get_appsettings, setup_logging
from sqlalchemy import event

from furusato_cms.models import database_url, get_engine
from furusato_cms.models.meta import UTCDateTime, metadata

config = context.config
if config.config_file_name and not context.config.attributes.get("connection"):
    setup_logging(config.config_file_name)


def _url():
    if config.config_file_name:
        try:
            return database_url(get_appsettings(config.config_file_name))
        except Exception:
            pass
    return config.get_main_option("sqlalchemy.url")


def render_item(type_, obj, autogen_context):
    """Migrations spell plain SQL types, so they never depend on today's model code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline():
    context.configure(url=_url(), target_metadata=metadata, render_as_batch=True,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection):
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()
        if connection.dialect.name == "sqlite":
            _check_foreign_keys(connection)


def _foreign_keys_off(dbapi_connection, connection_record):
    dbapi_connection.execute("PRAGMA foreign_keys=OFF")


def _check_foreign_keys(connection):
    dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if dangling:
        raise RuntimeError(f"the migration left rows pointing at nothing: {dangling[:10]}")


def _migration_engine():
    """On SQLite, foreign keys are off while migrating (before the transaction starts, the
    only time SQLite lets them change): batch mode rebuilds a table by copy, drop and
    rename, and dropping a table that other rows point at fails while they are on.
    ``foreign_key_check`` then proves, before the commit, that nothing was left dangling."""
    engine = get_engine({"furusato.db_url": _url()})
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _foreign_keys_off)
    return engine


def run_migrations_online():
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = _migration_engine()
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
