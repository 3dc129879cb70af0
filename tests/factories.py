"""Plain functions that put test data in place, with sensible defaults."""
from datetime import date, datetime, timezone

from furusato_cms.localgov import kind_of
from sqlalchemy import func, select

from furusato_cms.models import (
    Account,
    IntroPage,
    Post,
    Site,
    StaffMembership,
    TermsAcceptance,
    TermsVersion,
)
from furusato_cms.services.authentication import SessionService
from furusato_cms.services.passwords import hash_password

T0 = datetime(2026, 10, 1, tzinfo=timezone.utc)
PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = hash_password(PASSWORD)
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
"""Every staff account made here is enrolled in two-step sign-in with this secret, as
the rule requires; ``enrolled=False`` makes one that has not set it up yet."""

# Real codes (with check digits): Nagano prefecture, Nagano city, Matsumoto city.
NAGANO_PREF, NAGANO_CITY, MATSUMOTO = "200000", "202011", "202029"
SITE_NAMES = {NAGANO_PREF: "長野県", NAGANO_CITY: "長野市", MATSUMOTO: "松本市"}


def make_site(dbsession, code=NAGANO_CITY, *, state="active", name=None, with_intro=True, **kw):
    site = Site(
        code=code,
        name=name or SITE_NAMES.get(code, f"テスト市{code}"),
        name_kana=kw.pop("name_kana", "てすと"),
        kind=kind_of(code),
        prefecture_code=code[:2],
        state=state,
        applied_at=T0,
        state_changed_at=T0,
        joined_on=kw.pop("joined_on", date(2026, 10, 1) if state != "applied" else None),
        **kw,
    )
    dbsession.add(site)
    dbsession.flush()
    if with_intro:
        dbsession.add(
            IntroPage(site_id=site.id, slug=IntroPage.SLUG, title=site.name, body="ようこそ",
                      state="published", created_at=T0, updated_at=T0, published_at=T0)
        )
        dbsession.flush()
    return site


def make_account(dbsession, email="staff@example.jp", *, name="職員 花子", password=True,
                 terms_accepted=True, enrolled=None, **kw):
    """An account; a registrant one has accepted the current terms of use unless
    ``terms_accepted=False`` (so only tests about the terms meet the page that asks); a
    staff or operator one is enrolled in two-step sign-in unless ``enrolled=False``."""
    if enrolled is None:
        enrolled = kw.get("kind", "staff") == "staff" or kw.get("is_operator", False)
    if enrolled:
        kw = {"totp_secret": TOTP_SECRET, "totp_enabled_at": T0, **kw}
    account = Account(
        email=email.lower(),
        display_name=name,
        password_hash=_PASSWORD_HASH if password else None,
        created_at=T0,
        **kw,
    )
    dbsession.add(account)
    dbsession.flush()
    if account.kind == "registrant" and terms_accepted:
        accept_current_terms(dbsession, account)
    return account


def accept_current_terms(dbsession, account):
    version = dbsession.scalar(select(func.max(TermsVersion.version)))
    if version is not None:
        dbsession.add(TermsAcceptance(account_id=account.id, version=version, accepted_at=T0))
        dbsession.flush()


def make_staff(dbsession, site, role, *, email=None, is_reviewer=False, **kw):
    account = make_account(dbsession, email or f"{role}-{site.code}@example.jp", **kw)
    dbsession.add(
        StaffMembership(site_id=site.id, account_id=account.id, role=role,
                        is_reviewer=is_reviewer, created_at=T0)
    )
    dbsession.flush()
    return account


def make_post(dbsession, site, slug="hello", *, state="published", title="お知らせ", **kw):
    post = Post(
        site_id=site.id, slug=slug, title=title, body=kw.pop("body", "本文"), state=state,
        created_at=kw.pop("created_at", T0), updated_at=T0,
        published_at=kw.pop("published_at", T0 if state == "published" else None), **kw,
    )
    dbsession.add(post)
    dbsession.flush()
    return post


def sign_in(testapp, dbsession, account, clock, app_settings, second_factor=True):
    """Give the test client the session a completed sign-in ends with (password, then the
    code for an enrolled account), without walking the forms."""
    token, _session = SessionService(dbsession, clock=clock, settings=app_settings).start(
        account, "127.0.0.1", second_factor_done=second_factor
    )
    dbsession.flush()
    testapp.set_cookie("furusato_auth", token)
    return token
