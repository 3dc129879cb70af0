"""Revision 0015: new sites approve premium automatically; existing sites keep their choice."""
from alembic import command
from alembic.config import Config
from sqlalchemy import text

from furusato_cms.models import get_engine

from ..dbsetup import drop_database, fresh_database_url

INSERT_SITE = (
    "INSERT INTO sites (code, name, name_kana, kind, prefecture_code, state, state_reason, "
    "applied_at, state_changed_at, contact_name, contact_department, contact_email, "
    "contact_phone, theme, inactivity_days, premium_min_activities, {columns}auto_renewal, "
    "long_stay_enabled, long_stay_min_days, checkin_before_minutes, checkin_after_minutes, "
    "require_totp, community_room_enabled) VALUES (:code, 'x', '', 'municipality', '20', "
    "'active', '', :t, :t, '', '', '', '', 'default', 730, 3, {values}1 = 1, 1 = 0, 10, 60, "
    "120, 1 = 0, 1 = 0)"
)


def _alembic(connection):
    cfg = Config()
    cfg.set_main_option("script_location", "furusato_cms:alembic")
    cfg.attributes["connection"] = connection
    return cfg


def _auto_approve(connection):
    rows = connection.execute(text("SELECT code, premium_auto_approve FROM sites"))
    return {code: bool(value) for code, value in rows}


def test_existing_sites_keep_their_choice_and_new_rows_approve_automatically(tmp_path):
    url = fresh_database_url("furusato_migration_0015", tmp_path)
    engine = get_engine({"furusato.db_url": url})
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic(connection), "0014_national_settings")
            for code, flag in (("202011", "1 = 1"), ("202029", "1 = 0")):
                connection.execute(
                    text(INSERT_SITE.format(columns="premium_auto_approve, ",
                                            values=f"{flag}, ")),
                    {"code": code, "t": "2026-11-01 00:00:00"},
                )
            command.upgrade(_alembic(connection), "0015_premium_auto_default")
            assert _auto_approve(connection) == {"202011": True, "202029": False}
            connection.execute(text(INSERT_SITE.format(columns="", values="")),
                               {"code": "202037", "t": "2026-12-01 00:00:00"})
            assert _auto_approve(connection)["202037"] is True
            command.downgrade(_alembic(connection), "0014_national_settings")
            assert _auto_approve(connection)["202029"] is False
    finally:
        engine.dispose()
        drop_database(url)
