"""Revision 0015: new sites approve premium automatically; existing sites keep their choice.

On SQLite the revision rebuilds ``sites``, which other rows point at: the upgrade runs as
furusato-initdb runs it, with a follow row pointing at each site kept intact."""
from sqlalchemy import text

from ..dbsetup import migrate_to, scratch_database

INSERT_SITE = (
    "INSERT INTO sites (code, name, name_kana, kind, prefecture_code, state, state_reason, "
    "applied_at, state_changed_at, contact_name, contact_department, contact_email, "
    "contact_phone, theme, inactivity_days, premium_min_activities, {columns}auto_renewal, "
    "long_stay_enabled, long_stay_min_days, checkin_before_minutes, checkin_after_minutes, "
    "require_totp, community_room_enabled) VALUES (:code, 'x', '', 'municipality', '20', "
    "'active', '', :t, :t, '', '', '', '', 'default', 730, 3, {values}1 = 1, 1 = 0, 10, 60, "
    "120, 1 = 0, 1 = 0)"
)


def _auto_approve(connection):
    rows = connection.execute(text("SELECT code, premium_auto_approve FROM sites"))
    return {code: bool(value) for code, value in rows}


def test_existing_sites_keep_their_choice_and_new_rows_approve_automatically(tmp_path):
    with scratch_database("furusato_migration_0015", tmp_path) as engine:
        migrate_to(engine, "upgrade", "0014_national_settings")
        with engine.begin() as connection:
            for code, flag in (("202011", "1 = 1"), ("202029", "1 = 0")):
                connection.execute(
                    text(INSERT_SITE.format(columns="premium_auto_approve, ",
                                            values=f"{flag}, ")),
                    {"code": code, "t": "2026-11-01 00:00:00"},
                )
            connection.execute(text(
                "INSERT INTO accounts (email, display_name, kind, is_operator, locale, created_at) "
                "VALUES ('a@example.jp', 'a', 'registrant', 1 = 0, 'ja', '2026-11-01 00:00:00')"))
            connection.execute(text(
                "INSERT INTO site_follows (account_id, site_id, created_at) "
                "SELECT a.id, s.id, s.applied_at FROM sites s, accounts a"))
        migrate_to(engine, "upgrade", "0015_premium_auto_default")
        with engine.begin() as connection:
            assert _auto_approve(connection) == {"202011": True, "202029": False}
            assert connection.execute(text("SELECT count(*) FROM site_follows")).scalar() == 2
            connection.execute(text(INSERT_SITE.format(columns="", values="")),
                               {"code": "202037", "t": "2026-12-01 00:00:00"})
            assert _auto_approve(connection)["202037"] is True
        migrate_to(engine, "downgrade", "0014_national_settings")
        with engine.begin() as connection:
            assert _auto_approve(connection)["202029"] is False
