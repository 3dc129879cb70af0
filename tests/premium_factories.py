"""Test data for premium registration: verified people, registrations, designated
activities at given moments, premium held with its slot, and stay days."""
from datetime import date, datetime, timedelta

from furusato_cms.clock import TOKYO
from furusato_cms.localgov import check_digit
from furusato_cms.models import (
    GuardianConsent,
    IdentityVerification,
    Registration,
    Site,
    StayRecord,
)
from furusato_cms.services.premium import rebalance_slots

from .activity_factories import make_attendance, make_project, make_session
from .factories import T0, make_site
from .registrant_factories import make_registrant


def local_code(first_five: str) -> str:
    return first_five + check_digit(first_five)


UEDA = local_code("20203")
"""Another municipality in Nagano prefecture."""
GUNMA_PREF, MAEBASHI, TAKASAKI = local_code("10000"), local_code("10201"), local_code("10202")
NIIGATA_PREF, NAGAOKA = local_code("15000"), local_code("15202")
CHIYODA = local_code("13101")
"""Where the test people live unless told otherwise (Tokyo, no site)."""
NAMES = {UEDA: "上田市", GUNMA_PREF: "群馬県", MAEBASHI: "前橋市", TAKASAKI: "高崎市",
         NIIGATA_PREF: "新潟県", NAGAOKA: "長岡市"}


def tokyo(*args) -> datetime:
    """An aware moment given in Tokyo time: tokyo(2026, 5, 10, 9)."""
    return datetime(*args, tzinfo=TOKYO)


def site_of(dbsession, code, **kw) -> Site:
    """The site with ``code``, made (active) when missing; ``kw`` sets its premium settings."""
    site = dbsession.query(Site).filter_by(code=code).one_or_none()
    if site is None:
        site = make_site(dbsession, code, name=NAMES.get(code), with_intro=False)
    for key, value in kw.items():
        setattr(site, key, value)
    dbsession.flush()
    return site


def make_person(dbsession, email="premium@example.jp", *, home_code=CHIYODA, verified=True,
                birthdate=date(1990, 4, 1), consent=None, verified_at=T0, locale="ja",
                name="住民 花子"):
    """A registrant; verified with the My Number Card unless ``verified=False``.
    ``consent``: None (no guardian consent), "asked" (not confirmed) or "confirmed"."""
    account = make_registrant(dbsession, email, name=name, locale=locale)
    if verified:
        verification = IdentityVerification(
            account_id=account.id, issuer="https://idp.example.jp", subject=f"sub-{account.id}",
            name=name, address="東京都千代田区", postal_code="1000001", home_code=home_code,
            birthdate=birthdate, verified_at=verified_at,
        )
        if consent:
            verification.guardian_consent = GuardianConsent(
                guardian_name="保護者 一郎", relationship_to_minor="father",
                guardian_email="guardian@example.jp", recorded_at=verified_at,
                confirmed_at=verified_at if consent == "confirmed" else None,
            )
        dbsession.add(verification)
        dbsession.flush()
    return account


def register(dbsession, account, site, *, tier="basic", state="active") -> Registration:
    registration = Registration(account_id=account.id, site_id=site.id, tier=tier, state=state,
                                registered_at=T0, state_changed_at=T0)
    dbsession.add(registration)
    dbsession.flush()
    return registration


def give_activities(dbsession, account, site, moments, *, designated=True, voided=False,
                    title=None, partner=None):
    """Attendance of ``account`` at one session per moment, of one project of ``site``
    (a ``partner``'s project when given)."""
    key = f"{account.id}-{site.id}-{designated}-{voided}-{int(moments[0].timestamp())}"
    project = make_project(dbsession, site, title or f"活動{len(moments)}-{designated}-{voided}",
                           designated=designated, partner=partner, slug=f"p-{key}")
    return [
        make_attendance(dbsession, make_session(dbsession, project, moment), account,
                        voided=voided)
        for moment in moments
    ]


def make_premium(dbsession, account, site, *, since=T0, until=None, registration=None):
    """A premium registration held since ``since`` (one year, unless ``until``), with
    its slot as a grant would leave it."""
    registration = registration or register(dbsession, account, site)
    registration.tier = "premium"
    registration.premium_since = since
    registration.premium_until = until or since + timedelta(days=365)
    dbsession.flush()
    rebalance_slots(dbsession, [account.id], cap=False)
    return registration


def make_stays(dbsession, account, site, days, *, source="declaration"):
    dbsession.add_all(StayRecord(account_id=account.id, site_id=site.id, stay_date=day,
                                 source=source, recorded_at=T0) for day in days)
    dbsession.flush()


def eligible_person(dbsession, site, email="ready@example.jp", *, at, count=3, **kw):
    """A verified adult living elsewhere, registered with ``site``, with ``count``
    designated activities there in the month before ``at``."""
    account = make_person(dbsession, email, **kw)
    registration = register(dbsession, account, site)
    give_activities(dbsession, account, site,
                    [at - timedelta(days=7 * (n + 1)) for n in range(count)])
    return account, registration

