"""Revision 0014: national settings with nothing invented, template terms and a template
notice for every site already there, and existing people asked at their next visit."""
from sqlalchemy import select, text

from furusato_cms.models import Account
from furusato_cms.policy_texts import DEFAULT_PRIVACY_NOTICE, DEFAULT_TERMS
from furusato_cms.services.policies import terms_due

from ..dbsetup import migrate_to, scratch_database

INSERT_SITE = (
    "INSERT INTO sites (code, name, name_kana, kind, prefecture_code, state, state_reason, "
    "applied_at, state_changed_at, contact_name, contact_department, contact_email, "
    "contact_phone, theme, inactivity_days, premium_min_activities, premium_auto_approve, "
    "auto_renewal, long_stay_enabled, long_stay_min_days, checkin_before_minutes, "
    "checkin_after_minutes, require_totp, community_room_enabled) VALUES (:code, 'x', '', "
    "'municipality', '20', 'active', '', :t, :t, '', '', '', '', 'default', :days, 3, "
    "1 = 0, 1 = 1, 1 = 0, 10, 60, 120, 1 = 0, 1 = 0)"
)
INSERT_ACCOUNT = (
    "INSERT INTO accounts (email, display_name, kind, is_operator, locale, created_at) "
    "VALUES ('old@example.jp', 'x', 'registrant', 1 = 0, 'ja', :t)"
)


def test_upgrade_seeds_texts_and_settings_and_keeps_site_periods(tmp_path):
    with scratch_database("furusato_migration_0014", tmp_path) as engine:
        migrate_to(engine, "upgrade", "0013_attendance_designation")
        with engine.begin() as connection:
            for code, days in (("202011", 365), ("202029", 1000)):
                connection.execute(text(INSERT_SITE), {"code": code, "days": days,
                                                       "t": "2026-11-01 00:00:00"})
            connection.execute(text(INSERT_ACCOUNT), {"t": "2026-11-01 00:00:00"})
        migrate_to(engine, "upgrade", "0014_national_settings")

        with engine.begin() as connection:
            assert connection.execute(text(
                "SELECT free_period_end, inactivity_days FROM national_settings")).all() == [
                (None, 730)]
            assert connection.execute(text(
                "SELECT version, body FROM terms_versions")).all() == [(1, DEFAULT_TERMS)]
            notices = connection.execute(text(
                "SELECT s.code, n.version, n.body FROM privacy_notices n "
                "JOIN sites s ON s.id = n.site_id ORDER BY s.code")).all()
            assert notices == [("202011", 1, DEFAULT_PRIVACY_NOTICE),
                               ("202029", 1, DEFAULT_PRIVACY_NOTICE)]
            assert dict(connection.execute(
                text("SELECT code, inactivity_days FROM sites")).all()) == {
                "202011": 365, "202029": 1000}
            assert connection.execute(
                select(terms_due(Account.id)).where(Account.email == "old@example.jp")
            ).scalar()

        migrate_to(engine, "downgrade", "0013_attendance_designation")
        with engine.begin() as connection:
            assert connection.execute(text("SELECT count(*) FROM sites")).scalar() == 2
