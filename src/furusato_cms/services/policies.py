"""The terms of use (利用規約, national, edited by the operator) and each site's privacy
notice (個人情報の取扱い, edited by the site's admin).

- Publishing an edit makes a new version; versions are never changed or removed, so the
  text someone accepted stays readable.
- A registrant accepts the current terms at sign-up and a site's current notice at
  registration (the prefecture's too when that registration is derived). Acceptances
  are rows per person and version, so earlier ones stay.
- A new version asks again: the terms before any other registrant page (the security
  policy's one identity query says whether they are due), the site notices on /my/.
- Accounts and registrations from before these texts existed have accepted nothing, so
  their people are asked on their next visit.
"""
from sqlalchemy import and_, exists, func, insert, literal, select
from sqlalchemy.orm import aliased

from ..i18n import _
from ..models import (
    Account,
    PrivacyAcceptance,
    PrivacyNotice,
    Registration,
    Site,
    TermsAcceptance,
    TermsVersion,
)
from ..models.meta import UTCDateTime
from ..policy_texts import DEFAULT_PRIVACY_NOTICE
from .audit import Actor, AuditLog
from .errors import Conflict, InvalidInput

BODY_MAX = 50_000
"""Longest text accepted for a version (a long notice is about 10,000 characters)."""


def current_terms_version():
    """The current terms version as an SQL scalar (NULL before any is published)."""
    return select(func.max(TermsVersion.version)).scalar_subquery()


def terms_due(account_id_column):
    """SQL: true when the account has not accepted the current terms (for the one query
    that loads a signed-in person, so checking costs no query of its own)."""
    current = current_terms_version()
    return and_(
        current.is_not(None),
        ~exists().where(TermsAcceptance.account_id == account_id_column,
                        TermsAcceptance.version == current),
    )


def _is_current_notice():
    """SQL: this notice is its site's newest (one index probe per site)."""
    newer = aliased(PrivacyNotice)
    return PrivacyNotice.version == (
        select(func.max(newer.version)).where(newer.site_id == PrivacyNotice.site_id)
        .scalar_subquery()
    )


def _not_accepted_by(account):
    return ~exists().where(PrivacyAcceptance.account_id == account.id,
                           PrivacyAcceptance.notice_id == PrivacyNotice.id)


def notice_due(account_id, site_id):
    """SQL: ``site_id`` has a current privacy notice that ``account_id`` has not accepted
    (the rule of ``notices_to_accept``, for one site, as a column of another query)."""
    return exists().where(PrivacyNotice.site_id == site_id, _is_current_notice(),
                          ~exists().where(PrivacyAcceptance.account_id == account_id,
                                          PrivacyAcceptance.notice_id == PrivacyNotice.id))


class PolicyService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    # -- the terms of use ----------------------------------------------------------

    def current_terms(self) -> TermsVersion | None:
        return self.dbsession.scalar(
            select(TermsVersion).order_by(TermsVersion.version.desc()).limit(1)
        )

    def terms_version(self, version: int) -> TermsVersion | None:
        return self.dbsession.get(TermsVersion, version)

    def terms_history(self) -> list:
        return list(self.dbsession.scalars(
            select(TermsVersion).order_by(TermsVersion.version.desc())
        ))

    def publish_terms(self, actor: Actor, body: str) -> TermsVersion:
        """A new version of the terms; everybody is asked to accept it at their next visit."""
        current = self.current_terms()
        body = _checked_body(body, current.body if current else None)
        version = TermsVersion(version=(current.version if current else 0) + 1, body=body,
                               published_at=self.clock(), published_by_id=actor.account_id)
        self.dbsession.add(version)
        self.dbsession.flush()
        AuditLog(self.dbsession, self.clock).record(
            actor, "terms.publish", target=("TermsVersion", version.version),
            version=version.version,
        )
        return version

    def accept_terms(self, account: Account, version: int | None = None) -> TermsVersion | None:
        """Record that ``account`` accepted ``version`` (the current one by default); a
        version that is no longer current is refused, since a newer text was not read."""
        current = self.current_terms()
        if current is None:
            return None
        if version is not None and version != current.version:
            raise Conflict(_("The terms of use have changed meanwhile. Please read the new "
                             "version and accept it."), field="accept")
        if not self.has_accepted_terms(account, current.version):
            self.dbsession.add(TermsAcceptance(account_id=account.id, version=current.version,
                                               accepted_at=self.clock()))
            self.dbsession.flush()
        return current

    def has_accepted_terms(self, account: Account, version: int) -> bool:
        return self.dbsession.get(TermsAcceptance, (account.id, version)) is not None

    def terms_accepted_by(self, account: Account) -> list:
        """(version, accepted_at) of every version the person accepted, newest first."""
        return list(self.dbsession.execute(
            select(TermsAcceptance.version, TermsAcceptance.accepted_at)
            .where(TermsAcceptance.account_id == account.id)
            .order_by(TermsAcceptance.version.desc())
        ))

    # -- the sites' privacy notices ------------------------------------------------

    def current_notice(self, site: Site) -> PrivacyNotice | None:
        return self.dbsession.scalar(
            select(PrivacyNotice).where(PrivacyNotice.site_id == site.id)
            .order_by(PrivacyNotice.version.desc()).limit(1)
        )

    def notice_version(self, site: Site, version: int) -> PrivacyNotice | None:
        return self.dbsession.scalar(
            select(PrivacyNotice).where(PrivacyNotice.site_id == site.id,
                                        PrivacyNotice.version == version)
        )

    def notice_history(self, site: Site) -> list:
        return list(self.dbsession.scalars(
            select(PrivacyNotice).where(PrivacyNotice.site_id == site.id)
            .order_by(PrivacyNotice.version.desc())
        ))

    def publish_notice(self, actor: Actor, site: Site, body: str) -> PrivacyNotice:
        """A new version of the site's notice; its registrants are asked again on /my/.
        The site's row is locked so two admins publishing at once get 1, 2 — not 2, 2."""
        self.dbsession.refresh(site, with_for_update=True)
        current = self.current_notice(site)
        body = _checked_body(body, current.body if current else None)
        notice = PrivacyNotice(site_id=site.id, version=(current.version if current else 0) + 1,
                               body=body, published_at=self.clock(),
                               published_by_id=actor.account_id)
        self.dbsession.add(notice)
        self.dbsession.flush()
        AuditLog(self.dbsession, self.clock).record(
            actor, "privacy.publish", site_id=site.id, target=notice, version=notice.version,
        )
        return notice

    def ensure_notice(self, site: Site) -> PrivacyNotice:
        """Every site starts with the template notice (version 1) for its admin to edit."""
        current = self.current_notice(site)
        if current is not None:
            return current
        notice = PrivacyNotice(site_id=site.id, version=1, body=DEFAULT_PRIVACY_NOTICE,
                               published_at=self.clock())
        self.dbsession.add(notice)
        self.dbsession.flush()
        return notice

    def accept_notices(self, account: Account, sites) -> int:
        """Record that ``account`` accepted the current notice of each of ``sites`` (those
        not accepted yet); one statement. Returns how many were recorded."""
        site_ids = [site.id for site in sites]
        if not site_ids:
            return 0
        due = select(
            literal(account.id), PrivacyNotice.id, literal(self.clock(), UTCDateTime())
        ).where(PrivacyNotice.site_id.in_(site_ids), _is_current_notice(),
                _not_accepted_by(account))
        recorded = self.dbsession.execute(
            insert(PrivacyAcceptance)
            .from_select(["account_id", "notice_id", "accepted_at"], due)
            .returning(PrivacyAcceptance.notice_id)
        ).all()
        return len(recorded)

    def notices_to_accept(self, account: Account) -> list:
        """(site, notice) for each active registration whose site's current notice the
        person has not accepted, in one query (for /my/)."""
        rows = self.dbsession.execute(
            select(Site, PrivacyNotice)
            .join(Registration, and_(Registration.site_id == Site.id,
                                     Registration.account_id == account.id,
                                     Registration.state == "active"))
            .join(PrivacyNotice, PrivacyNotice.site_id == Site.id)
            .where(_is_current_notice(), _not_accepted_by(account))
            .order_by(Site.code)
        )
        return [tuple(row) for row in rows]


def _checked_body(body, current_body) -> str:
    text = (body or "").replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput(_("Enter the text."), field="body")
    if len(text) > BODY_MAX:
        raise InvalidInput(_("Too long: at most ${max} characters.", mapping={"max": BODY_MAX}),
                           field="body")
    if current_body is not None and text == current_body.strip():
        raise InvalidInput(_("The text is the same as the current version; nothing to publish."),
                           field="body")
    return text
