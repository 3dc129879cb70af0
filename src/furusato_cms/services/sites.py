"""The site lifecycle (参画と ID 発行): applications to join, the operator's decisions,
the fee status that follows from the joining date, and a site's own settings.

States and the only moves between them::

    (new) ──apply──> applied ──approve──> active ──suspend──> suspended
                        │                   │  <──reactivate──   │
                        └──reject──> rejected └──withdraw──> withdrawn <──withdraw──┘
    rejected / withdrawn ──apply──> applied   (the same row: a site keeps its id)

Only active sites are public; suspended sites keep their staff screens.

A prefecture that joins later — approved, or reactivated after a suspension during which
its municipalities' new registrations derived nothing — registers everyone already
registered with its municipalities (derived, "via" their municipality), in the same
transaction as the decision, with the number made in the audit log
(``site.derive_registrations``).
"""
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, select

from ..clock import to_tokyo
from ..i18n import _
from ..localgov import CodeError, check_digit, kind_of, normalize_code, validate_code
from ..models import AuditEntry, IntroPage, Site
from ..models.site import THEMES
from .audit import Actor, AuditLog
from .authentication import SigninThrottler
from .errors import Conflict, InvalidInput, NotAllowed
from .invitations import InvitationService
from .national import NationalSettingsService
from .registration import RegistrationService
from .paging import Page, fetch_page
from .policies import PolicyService

FREE_JOIN_DEADLINE = date(2028, 3, 31)
"""Governments whose joining date (参画日) is on or before the end of fiscal 2027
(令和9年度末) use the system free of charge for a set period (一定期間); when that period
ends is a national decision, kept in the national settings and empty until it is made."""

STATE_LABELS = {
    "applied": _("Applied"),
    "active": _("Active"),
    "suspended": _("Suspended"),
    "withdrawn": _("Withdrawn"),
    "rejected": _("Rejected"),
}

TRANSITIONS = {
    "approve": (("applied",), "active"),
    "reject": (("applied",), "rejected"),
    "suspend": (("active",), "suspended"),
    "reactivate": (("suspended",), "active"),
    "withdraw": (("active", "suspended"), "withdrawn"),
}
"""Operator decisions: the states each may start from, and where it leads."""

NEEDS_REASON = ("reject", "suspend", "withdraw")
"""Decisions against a government must say why; the government reads the reason."""
REAPPLY_STATES = ("rejected", "withdrawn")
LIFECYCLE_ACTIONS = ("site.apply", *(f"site.{name}" for name in TRANSITIONS))
HISTORY_ACTIONS = (*LIFECYCLE_ACTIONS, "site.derive_registrations")
"""What the operator's history of a site shows: its moves, and the derived registrations
a prefecture's approval or reactivation made."""

_REFUSED_IN_STATE = {
    "applied": _(
        "This site's application is still waiting for a decision, so this cannot be done."
    ),
    "active": _("This site is active, so this cannot be done."),
    "suspended": _("This site is suspended, so this cannot be done."),
    "withdrawn": _("This site has withdrawn, so this cannot be done."),
    "rejected": _("This site's application was rejected, so this cannot be done."),
}

_ALREADY_THERE = {
    "applied": _("An application for code ${code} is already waiting for a decision."),
    "active": _("The local government with code ${code} already takes part."),
    "suspended": _(
        "The site with code ${code} is suspended. Please contact the national operator."
    ),
}

SETTING_LIMITS = {
    "inactivity_days": (30, 3650),
    "premium_min_activities": (3, 100),
    "long_stay_min_days": (1, 366),
    "checkin_before_minutes": (0, 1440),
    "checkin_after_minutes": (0, 1440),
}
"""Allowed ranges of the numeric site settings (the forms use the same numbers)."""

BOOLEAN_SETTINGS = (
    "premium_auto_approve",
    "auto_renewal",
    "long_stay_enabled",
)
TEXT_LIMITS = {
    "name": 100,
    "name_kana": 200,
    "contact_name": 100,
    "contact_department": 200,
    "contact_email": 254,
    "contact_phone": 30,
}
"""Longest text the site's columns hold, checked here so no database refuses it later."""
TEXT_SETTINGS = ("contact_name", "contact_department", "contact_email", "contact_phone")
SETTINGS_FIELDS = ("theme", *TEXT_SETTINGS, *SETTING_LIMITS, *BOOLEAN_SETTINGS)

LIMIT_MESSAGES = {
    "inactivity_days": _("The inactivity period must be from ${low} to ${high} days."),
    "premium_min_activities": _(
        "The number of activities for premium registration must be from ${low} to ${high} "
        "(the national rule is at least 3)."
    ),
    "long_stay_min_days": _("The days of stay must be from ${low} to ${high}."),
    "checkin_before_minutes": _("Minutes before the start must be from ${low} to ${high}."),
    "checkin_after_minutes": _("Minutes after the end must be from ${low} to ${high}."),
}

_KANA = re.compile(r"^[\u3041-\u3096\u30a1-\u30fa\u30fc\u30fb\u3000 ]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def code_error_message(reason: str, raw: str):
    """The refusal for a code that is not a valid 全国地方公共団体コード, per reason."""
    code = normalize_code(raw)
    if reason == "prefecture":
        return _(
            "The first two digits (${digits}) are not a prefecture number; they must be "
            "from 01 to 47.",
            mapping={"digits": code[:2]},
        )
    if reason == "check_digit":
        return _(
            "The check digit (the sixth digit) is wrong: a code that starts with ${first} "
            "ends in ${digit}. Please check the code.",
            mapping={"first": code[:5], "digit": check_digit(code[:5])},
        )
    return _("Enter the 6-digit local government code (全国地方公共団体コード), digits only.")


def checked_code(raw: str) -> str:
    """The normalised code, or InvalidInput naming why it is wrong."""
    try:
        return validate_code(raw)
    except CodeError as exc:
        raise InvalidInput(code_error_message(exc.reason, raw), field="code") from exc


def tokyo_date(moment) -> date:
    return to_tokyo(moment).date()


def normalize_kana(raw: str) -> str:
    """Readings are kept in hiragana so that search by kana finds either spelling."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    return "".join(
        chr(ord(ch) - 0x60) if "\u30a1" <= ch <= "\u30f6" else ch for ch in text
    )


@dataclass(frozen=True)
class FeeStatus:
    """利用料の扱い: ``exempt`` (until ``exempt_until``, or for 「一定期間」 while the country
    has not decided the end), ``undecided`` for later joiners, or ``not_joined`` for a
    site that has never been active."""

    kind: str
    joined_on: date | None = None
    exempt_until: date | None = None


@dataclass(frozen=True)
class SiteListing(Page):
    """A page of sites, with the applications that wait for a decision."""

    pending: list = ()


class SiteLifecycleService:
    PAGE_SIZE = 100

    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.audit = AuditLog(dbsession, clock)
        self._national_settings = None

    # -- applying -------------------------------------------------------------

    def apply(
        self,
        code,
        name,
        name_kana,
        contact_name,
        contact_department,
        contact_email,
        contact_phone,
        *,
        actor: Actor | None = None,
    ) -> Site:
        """A local government applies to join (参画申請). Rejected or withdrawn
        governments may apply again: their row goes back to ``applied``."""
        code = checked_code(code)
        name = bounded_text(_required_name(name), "name")
        name_kana = bounded_text(normalize_kana(name_kana), "name_kana")
        if not _KANA.match(name_kana):
            raise InvalidInput(_("Write the reading in hiragana or katakana."), field="name_kana")
        contact_email = checked_email(contact_email, "contact_email")
        contacts = {
            field: bounded_text(value, field)
            for field, value in (
                ("contact_name", contact_name),
                ("contact_department", contact_department),
                ("contact_phone", contact_phone),
            )
        }
        self._count_application(actor)
        now = self.clock()
        site = self.dbsession.scalar(select(Site).where(Site.code == code).with_for_update())
        if site is None:
            site = Site(code=code, kind=kind_of(code), prefecture_code=code[:2])
            self.dbsession.add(site)
        elif site.state not in REAPPLY_STATES:
            raise Conflict(_ALREADY_THERE[site.state] % {"code": code}, field="code")
        from_state = site.state
        site.name = name
        site.name_kana = name_kana
        site.contact_email = contact_email
        for field, value in contacts.items():
            setattr(site, field, value)
        site.state = "applied"
        site.state_reason = ""
        site.applied_at = now
        site.state_changed_at = now
        self.dbsession.flush()
        self.audit.record(
            actor or Actor.system("applicant"), "site.apply", site_id=site.id, target=site,
            from_state=from_state, to_state="applied", code=code, name=name,
        )
        return site

    def _count_application(self, actor):
        """At most ``signin_max_failures`` well-formed applications per client address in
        the throttle window, so nobody can file applications for every code at once."""
        if actor is None or not actor.client_addr:
            return
        SigninThrottler(self.dbsession, clock=self.clock, settings=self.settings
                        ).count_request([f"join:addr:{actor.client_addr}"])

    # -- the operator's decisions --------------------------------------------

    def approve(self, actor: Actor, site: Site, admin_email: str) -> str:
        """Activate the site in preparation (準備中: not public until its admin publishes
        it) and invite its first site admin; returns the one-time invitation token (only
        its hash is stored)."""
        self._require_state(site, "approve")
        admin_email = checked_email(admin_email, "admin_email")
        self._record_move(actor, site, "approve", "")
        site.preparing = True
        self._derive_prefecture_registrations(actor, site)
        if site.joined_on is None:
            site.joined_on = tokyo_date(self.clock())
        self._ensure_intro_page(site)
        PolicyService(self.dbsession, clock=self.clock, settings=self.settings).ensure_notice(site)
        _invitation, token = InvitationService(
            self.dbsession, clock=self.clock, settings=self.settings
        ).invite(actor, site, admin_email, "site_admin")
        return token

    def publish(self, actor: Actor, site: Site):
        """The site admin opens the prepared site to the public (公開); once only."""
        if site.state != "active":
            raise NotAllowed(_REFUSED_IN_STATE[site.state])
        if not site.preparing:
            raise Conflict(_("This site is public already."))
        site.preparing = False
        self.audit.record(actor, "site.publish", site_id=site.id, target=site)

    def reject(self, actor: Actor, site: Site, reason: str):
        self._move(actor, site, "reject", reason)

    def suspend(self, actor: Actor, site: Site, reason: str):
        self._move(actor, site, "suspend", reason)

    def reactivate(self, actor: Actor, site: Site):
        self._move(actor, site, "reactivate", "")
        self._derive_prefecture_registrations(actor, site)

    def withdraw(self, actor: Actor, site: Site, reason: str):
        self._move(actor, site, "withdraw", reason)

    def invite_admin(self, actor: Actor, site: Site, admin_email: str) -> str:
        """Another site-admin invitation from the operator, e.g. when the first one
        expired or the municipality's staff changed; returns the one-time token."""
        if site.state not in ("active", "suspended"):
            raise NotAllowed(_REFUSED_IN_STATE[site.state])
        admin_email = checked_email(admin_email, "admin_email")
        _invitation, token = InvitationService(
            self.dbsession, clock=self.clock, settings=self.settings
        ).invite(actor, site, admin_email, "site_admin")
        return token

    def allowed_decisions(self, site: Site) -> tuple:
        """The decisions the operator may take now (for showing only those forms)."""
        return tuple(name for name, (sources, _t) in TRANSITIONS.items() if site.state in sources)

    def _require_state(self, site, decision):
        """Refuse a decision the site's current state does not allow, naming that state.
        The row is re-read under a lock so two operators cannot decide at once."""
        self.dbsession.refresh(site, with_for_update=True)
        if site.state not in TRANSITIONS[decision][0]:
            raise NotAllowed(_REFUSED_IN_STATE[site.state])

    def _move(self, actor, site, decision, reason):
        """State first, then input: a stale form gets the reason that matters."""
        self._require_state(site, decision)
        if decision in NEEDS_REASON:
            reason = _reason(reason)
        self._record_move(actor, site, decision, reason)

    def _record_move(self, actor, site, decision, reason):
        target = TRANSITIONS[decision][1]
        from_state = site.state
        site.state = target
        site.state_reason = reason
        site.state_changed_at = self.clock()
        self.dbsession.flush()
        self.audit.record(
            actor, f"site.{decision}", site_id=site.id, target=site,
            from_state=from_state, to_state=target, reason=reason,
        )

    def _derive_prefecture_registrations(self, actor, site):
        """The back-fill of a prefecture that takes part from now on (see the module's
        docstring); nothing for a municipality."""
        if site.kind != "prefecture":
            return
        made = RegistrationService(
            self.dbsession, clock=self.clock, settings=self.settings
        ).derive_for_prefecture(site)
        self.audit.record(actor, "site.derive_registrations", site_id=site.id, target=site,
                          registrations=made)

    def _ensure_intro_page(self, site):
        """Every site has exactly one introduction page (自治体紹介ページ), public from the start."""
        exists = self.dbsession.scalar(
            select(IntroPage.id).where(IntroPage.site_id == site.id)
        )
        if exists is not None:
            return
        now = self.clock()
        self.dbsession.add(
            IntroPage(
                site_id=site.id, slug=IntroPage.SLUG, title=site.name, body="",
                state="published", created_at=now, updated_at=now, published_at=now,
            )
        )
        self.dbsession.flush()

    # -- reading --------------------------------------------------------------

    def fee_status(self, site: Site) -> FeeStatus:
        """Joining by 2028-03-31 (Asia/Tokyo date) means free use for a set period, until
        the national setting's end once the country has decided it (never an invented
        date); later joiners' fees are not decided yet. A site keeps its first joining
        date when it withdraws and comes back."""
        if site.joined_on is None:
            return FeeStatus("not_joined")
        if site.joined_on <= FREE_JOIN_DEADLINE:
            return FeeStatus("exempt", site.joined_on, self._national().free_period_end)
        return FeeStatus("undecided", site.joined_on)

    def _national(self):
        """Read once per service, so a list of sites costs one look-up, not one per site."""
        if self._national_settings is None:
            self._national_settings = NationalSettingsService(
                self.dbsession, clock=self.clock, settings=self.settings
            ).current()
        return self._national_settings

    def listing(self, state: str | None = None, page: int = 1) -> SiteListing:
        """Applications waiting for a decision (oldest first), then every site in the
        chosen state, by prefecture with the prefecture itself first."""
        pending = self.dbsession.scalars(
            select(Site).where(Site.state == "applied").order_by(Site.applied_at, Site.id)
        ).all()
        criteria = [Site.state == state] if state else []
        is_municipality = case((Site.kind == "prefecture", 0), else_=1)
        statement = (
            select(Site).where(*criteria).order_by(Site.prefecture_code, is_municipality, Site.code)
        )
        return fetch_page(self.dbsession, statement, page=page, page_size=self.PAGE_SIZE, counted=True,
                          cls=SiteListing, pending=list(pending))

    def history(self, site: Site) -> list:
        """The site's lifecycle as recorded in the audit log, oldest first (with the
        back-fills of derived registrations)."""
        return list(
            self.dbsession.scalars(
                select(AuditEntry)
                .where(AuditEntry.site_id == site.id, AuditEntry.action.in_(HISTORY_ACTIONS))
                .order_by(AuditEntry.at, AuditEntry.id)
            )
        )

    # -- the site's own settings ----------------------------------------------

    def update_settings(self, actor: Actor, site: Site, **values) -> dict:
        """Change the site's settings (自治体設定); returns ``{field: (old, new)}`` of what
        changed. Unknown fields are a programming error, not user input."""
        unknown = set(values) - set(SETTINGS_FIELDS)
        if unknown:
            raise TypeError(f"unknown site settings: {sorted(unknown)}")
        cleaned = {name: self._clean_setting(name, value) for name, value in values.items()}
        if "inactivity_days" in cleaned:
            cleaned["inactivity_days"] = self._own_inactivity_days(site, cleaned["inactivity_days"])
        changes = {
            name: (getattr(site, name), value)
            for name, value in cleaned.items()
            if getattr(site, name) != value
        }
        for name, (_old, new) in changes.items():
            setattr(site, name, new)
        if changes:
            self.dbsession.flush()
            self.audit.record(
                actor, "site.settings", site_id=site.id, target=site,
                changed={name: [old, new] for name, (old, new) in changes.items()},
            )
        return changes

    def settings_of(self, site: Site) -> dict:
        """The values the settings form shows: the inactivity period as it applies (the
        national one when the site's own is not longer)."""
        values = {name: getattr(site, name) for name in SETTINGS_FIELDS}
        values["inactivity_days"] = max(site.inactivity_days, self.national_inactivity_days())
        return values

    def national_inactivity_days(self) -> int:
        return self._national().inactivity_days

    def _own_inactivity_days(self, site, value):
        """A site may lengthen the national period, never shorten it. Saving the national
        period as shown keeps the site's row as it was, so nothing changes."""
        national = self.national_inactivity_days()
        if value < national:
            raise InvalidInput(
                _("The inactivity period cannot be shorter than the national period of "
                  "${days} days; a site may only lengthen it.", mapping={"days": national}),
                field="inactivity_days",
            )
        if value == national and site.inactivity_days <= national:
            return site.inactivity_days
        return value

    def _clean_setting(self, name, value):
        if name == "theme":
            if value not in THEMES:
                raise InvalidInput(_("Choose one of the themes offered."), field="theme")
            return value
        if name in BOOLEAN_SETTINGS:
            return bool(value)
        if name == "contact_email":
            return checked_email(value, name) if value else ""
        if name in TEXT_SETTINGS:
            return bounded_text(value, name)
        low, high = SETTING_LIMITS[name]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise InvalidInput(LIMIT_MESSAGES[name] % {"low": low, "high": high}, field=name)
        return value


def _required_name(value) -> str:
    text = unicodedata.normalize("NFKC", value or "").strip()
    if not text:
        raise InvalidInput(_("Enter the name of the local government."), field="name")
    return text


def bounded_text(value, field) -> str:
    """Trimmed text, refused when longer than its column (TEXT_LIMITS)."""
    text = (value or "").strip()
    limit = TEXT_LIMITS[field]
    if len(text) > limit:
        raise InvalidInput(
            _("Too long: at most ${max} characters.", mapping={"max": limit}), field=field
        )
    return text


def checked_email(value, field) -> str:
    email = (value or "").strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        raise InvalidInput(_("Enter a valid email address."), field=field)
    return email


def _reason(value) -> str:
    reason = (value or "").strip()
    if not reason:
        raise InvalidInput(_("Please give the reason."), field="reason")
    return reason
