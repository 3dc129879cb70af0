"""Stays (滞在記録) for the long-term stayer mark (長期滞在者): stay points with their own QR
code, scanning it, and declarations with documents that a coordinator confirms.

- A **stay point** is a lodging or workspace the site designates. Its code is
  ``<point id>.<token version>.<mac>`` with a key derived for stays only (the shape and
  signing of services/checkin_tokens.py, another purpose key), so a check-in code is
  worthless here and the other way round; rotating the point's ``token_version``
  retires every printed code, retiring the point stops its code altogether.
- **Scanning** ``/stay/{code}`` records today's stay day (Tokyo date) for the person and
  site: ``INSERT … ON CONFLICT DO NOTHING`` on the one-row-per-person-site-and-day key,
  so scanning again the same day (or at two points) records one day.
- A **declaration** names the first and last day (within the last 12 months, not in the
  future) with 1–3 documents (receipts, lodging certificates): PDF, JPEG or PNG, told by
  their content (never the file name or the browser's claim), each at most
  ``settings.upload_max_bytes``. Only the site's registrants declare. A coordinator
  confirms it — every day becomes a StayRecord in one multi-row insert, days already
  recorded stay as they are — or rejects it with a reason the person sees.

Recording days refreshes the long-stay mark of a premium registration at a site that
enables it, so the card shows the mark as soon as the days are there.
"""
import io
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import load_only

from ..clock import to_tokyo
from ..i18n import _
from ..models import (
    Account,
    Registration,
    Site,
    StayDeclaration,
    StayDocument,
    StayPoint,
    StayRecord,
)
from .audit import AuditLog
from .checkin_tokens import TokenRefused, derived_key, read_signed_pair, signed_pair
from .eligibility import Window, counted_stays, one_year_earlier
from .errors import Conflict, InvalidInput, NotAllowed
from .mail import Mail, localizer_for, queue_mail

STAY_PURPOSE = b"furusato-cms/premium/stay-token/v1"
POINT_KINDS = {"lodging": _("Lodging"), "workspace": _("Workspace")}
DECLARATION_STATES = {
    "pending": _("Waiting for confirmation"),
    "confirmed": _("Confirmed"),
    "rejected": _("Not confirmed"),
}
SOURCE_LABELS = {"qr": _("Stay code scanned"), "declaration": _("Declaration")}
NAME_MAX = 200
NOTE_MAX = 1000
REASON_MAX = 1000
MAX_DOCUMENTS = 3
MAX_DECLARED_DAYS = 366
MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}
EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}

TAMPERED = _("This stay code is not valid. Please scan the code displayed at the lodging or "
             "workspace again.")
ROTATED = _("This stay code has been replaced by a new one. Please scan the code displayed "
            "there now.")
RETIRED = _("This place no longer records stays.")


class StayTokens:
    def __init__(self, settings):
        self.key = derived_key(settings.session_secret, STAY_PURPOSE)

    def token_for(self, point) -> str:
        return signed_pair(self.key, point.id, point.token_version)

    def point_id_of(self, token: str) -> int:
        """The point a genuine code names; an altered code is refused before any lookup."""
        return self._checked(token)[0]

    def verify(self, token: str, point):
        _point_id, version = self._checked(token)
        if version < point.token_version:
            raise TokenRefused("rotated", ROTATED)
        if version != point.token_version:
            raise TokenRefused("tampered", TAMPERED)

    def _checked(self, token):
        pair = read_signed_pair(self.key, token)
        if pair is None:
            raise TokenRefused("tampered", TAMPERED)
        return pair


@dataclass(frozen=True)
class StayScan:
    point: StayPoint
    site: Site
    day: date
    status: str
    """"recorded" (a new day) or "already" (this day was recorded before)."""


@dataclass(frozen=True)
class DeclarationRow:
    declaration: StayDeclaration
    site_name: str
    person: str = ""
    email: str = ""


@dataclass
class SiteStays:
    """A person's stay days at one site in the last 12 months."""

    site_name: str
    long_stay_enabled: bool
    required_days: int
    days: list = field(default_factory=list)


class StayService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.tokens = StayTokens(settings)

    # -- stay points (coordinators) ----------------------------------------------

    def points_of(self, site) -> list[StayPoint]:
        return list(self.dbsession.scalars(
            select(StayPoint).where(StayPoint.site_id == site.id)
            .order_by(StayPoint.retired_at.is_not(None), StayPoint.name, StayPoint.id)
        ))

    def point_in(self, site, point_id: int) -> StayPoint | None:
        return self.dbsession.scalar(
            select(StayPoint).where(StayPoint.id == point_id, StayPoint.site_id == site.id)
        )

    def create_point(self, actor, site, name, kind) -> StayPoint:
        point = StayPoint(site_id=site.id, name=_checked_name(name), kind=_checked_kind(kind),
                          created_at=self.clock())
        self.dbsession.add(point)
        self.dbsession.flush()
        self._audit(actor, "stay.point_create", point, name=point.name)
        return point

    def update_point(self, actor, point, name, kind):
        self._require_current(point)
        point.name = _checked_name(name)
        point.kind = _checked_kind(kind)
        self.dbsession.flush()
        self._audit(actor, "stay.point_update", point, name=point.name)

    def rotate_point(self, actor, point):
        """A new code: every printed code of the point stops working."""
        self._require_current(point)
        point.token_version += 1
        self.dbsession.flush()
        self._audit(actor, "stay.point_rotate", point, version=point.token_version)

    def retire_point(self, actor, point):
        self._require_current(point)
        point.retired_at = self.clock()
        self.dbsession.flush()
        self._audit(actor, "stay.point_retire", point)

    def stay_url(self, point) -> str:
        return f"{self.settings.base_url}/stay/{self.tokens.token_for(point)}"

    # -- scanning (registrants) ------------------------------------------------------

    def point_for_token(self, token: str) -> tuple[StayPoint, Site]:
        """The current, open point a code names, or TokenRefused / NotAllowed."""
        point = self.dbsession.get(StayPoint, self.tokens.point_id_of(token))
        if point is None:
            raise TokenRefused("tampered", TAMPERED)
        self.tokens.verify(token, point)
        site = self.dbsession.get(Site, point.site_id)
        if point.retired_at is not None or not site.is_public:
            raise NotAllowed(RETIRED)
        return point, site

    def scan(self, account, token: str) -> StayScan:
        """Record today's stay day (Tokyo date) at the point's site, once per day."""
        if account.kind != "registrant":
            raise NotAllowed(_("Only registrant accounts record stays."))
        point, site = self.point_for_token(token)
        now = self.clock()
        today = to_tokyo(now).date()
        added = self._record_days(account.id, site.id, [today], now, source="qr",
                                  stay_point_id=point.id)
        self._refresh_long_stay(account.id, site)
        return StayScan(point, site, today, "recorded" if added else "already")

    # -- declarations ----------------------------------------------------------------

    def declare(self, account, site, first_day, last_day, note, documents) -> StayDeclaration:
        """A declaration with its documents (``[(filename, bytes)]``), waiting for a
        coordinator. Each refusal names its form field."""
        self._require_registered(account, site)
        self._check_days(first_day, last_day)
        note = (note or "").strip()
        if len(note) > NOTE_MAX:
            raise InvalidInput(_("The note is too long (at most ${n} characters).",
                                 mapping={"n": NOTE_MAX}), "note")
        checked = self._checked_documents(documents)
        now = self.clock()
        declaration = StayDeclaration(account_id=account.id, site_id=site.id,
                                      first_day=first_day, last_day=last_day, note=note,
                                      state="pending", submitted_at=now, reason="")
        self.dbsession.add(declaration)
        self.dbsession.flush()
        self.dbsession.add_all(
            StayDocument(declaration_id=declaration.id, filename=filename[:300],
                         media_type=media_type, byte_size=len(data), data=data,
                         uploaded_at=now)
            for filename, media_type, data in checked
        )
        self.dbsession.flush()
        return declaration

    def pending_declarations(self, site) -> list[DeclarationRow]:
        rows = self.dbsession.execute(
            select(StayDeclaration, Account.display_name, Account.email)
            .join(Account, Account.id == StayDeclaration.account_id)
            .where(StayDeclaration.site_id == site.id, StayDeclaration.state == "pending")
            .order_by(StayDeclaration.submitted_at, StayDeclaration.id)
        )
        return [DeclarationRow(d, site.name, name, email) for d, name, email in rows]

    def declaration_in(self, site, declaration_id: int) -> StayDeclaration | None:
        return self.dbsession.scalar(
            select(StayDeclaration).where(StayDeclaration.id == declaration_id,
                                          StayDeclaration.site_id == site.id)
        )

    def person_of(self, declaration) -> Account:
        return self.dbsession.get(Account, declaration.account_id)

    def documents_of(self, declaration) -> list[StayDocument]:
        """The documents without their bytes (for lists)."""
        return list(self.dbsession.scalars(
            select(StayDocument).where(StayDocument.declaration_id == declaration.id)
            .options(load_only(StayDocument.id, StayDocument.filename, StayDocument.media_type,
                               StayDocument.byte_size))
            .order_by(StayDocument.id)
        ))

    def document_for_staff(self, actor, declaration, document_id: int) -> StayDocument | None:
        """One document with its bytes; reading it is audited (personal data)."""
        document = self.dbsession.scalar(
            select(StayDocument).where(StayDocument.id == document_id,
                                       StayDocument.declaration_id == declaration.id)
        )
        if document is not None:
            AuditLog(self.dbsession, self.clock).record(
                actor, "stay.document_view", site_id=declaration.site_id, target=document,
                declaration=declaration.id,
            )
        return document

    def confirm(self, actor, declaration) -> int:
        """Every declared day becomes a stay record; returns how many days were new."""
        self._require_pending(declaration)
        now = self.clock()
        days = [declaration.first_day + timedelta(days=n)
                for n in range((declaration.last_day - declaration.first_day).days + 1)]
        added = self._record_days(declaration.account_id, declaration.site_id, days, now,
                                  source="declaration", declaration_id=declaration.id)
        self._decide(declaration, "confirmed", actor, now)
        self._refresh_long_stay(declaration.account_id,
                                self.dbsession.get(Site, declaration.site_id))
        self._audit(actor, "stay.confirm", declaration, days=len(days), new_days=added)
        return added

    def reject(self, actor, declaration, reason):
        reason = " ".join((reason or "").split())
        if not reason:
            raise InvalidInput(_("Give the reason: the person will see it."), "reason")
        if len(reason) > REASON_MAX:
            raise InvalidInput(_("The reason is too long (at most ${n} characters).",
                                 mapping={"n": REASON_MAX}), "reason")
        self._require_pending(declaration)
        declaration.reason = reason
        self._decide(declaration, "rejected", actor, self.clock())
        self._audit(actor, "stay.reject", declaration, reason=reason)
        queue_mail(self.dbsession, self.settings, self._rejected_mail(declaration))

    # -- the person's history ------------------------------------------------------

    def declarations_of(self, account) -> list[DeclarationRow]:
        rows = self.dbsession.execute(
            select(StayDeclaration, Site.name)
            .join(Site, Site.id == StayDeclaration.site_id)
            .where(StayDeclaration.account_id == account.id)
            .order_by(StayDeclaration.submitted_at.desc(), StayDeclaration.id.desc())
        )
        return [DeclarationRow(d, name) for d, name in rows]

    def history(self, account) -> list[SiteStays]:
        """Stay days per site in the last 12 months (as the long-stay mark counts them)."""
        rows = self.dbsession.execute(
            select(Site.id, Site.name, Site.long_stay_enabled, Site.long_stay_min_days,
                   StayRecord.stay_date, StayRecord.source)
            .join(Site, Site.id == StayRecord.site_id)
            .where(StayRecord.account_id == account.id, *counted_stays(Window.before(self.clock())))
            .order_by(Site.code, StayRecord.stay_date)
        )
        sites = {}
        for site_id, name, enabled, required, day, source in rows:
            sites.setdefault(site_id, SiteStays(name, enabled, required)).days.append(
                (day, source))
        return list(sites.values())

    # -- internals -------------------------------------------------------------------

    def _record_days(self, account_id, site_id, days, now, *, source, stay_point_id=None,
                     declaration_id=None) -> int:
        """One multi-row insert; days already recorded are left as they are."""
        dialect = postgresql if self.dbsession.get_bind().dialect.name == "postgresql" else sqlite
        inserted = self.dbsession.execute(
            dialect.insert(StayRecord)
            .values([
                {"account_id": account_id, "site_id": site_id, "stay_date": day,
                 "source": source, "stay_point_id": stay_point_id,
                 "declaration_id": declaration_id, "recorded_at": now}
                for day in days
            ])
            .on_conflict_do_nothing(index_elements=["account_id", "site_id", "stay_date"])
            .returning(StayRecord.id)
        )
        return len(inserted.all())

    def _refresh_long_stay(self, account_id, site):
        """The mark of a premium registration follows the days as they are recorded."""
        if not site.long_stay_enabled:
            return
        days = self.dbsession.scalar(
            select(func.count(StayRecord.id)).where(
                StayRecord.account_id == account_id, StayRecord.site_id == site.id,
                *counted_stays(Window.before(self.clock())))
        )
        registration = self.dbsession.scalar(
            select(Registration).where(Registration.account_id == account_id,
                                       Registration.site_id == site.id,
                                       Registration.state == "active",
                                       Registration.tier == "premium")
        )
        if registration is not None:
            registration.long_stay = days >= site.long_stay_min_days
            self.dbsession.flush()

    def _require_registered(self, account, site):
        if site.state != "active":
            raise NotAllowed(_("${site} does not accept declarations now.",
                               mapping={"site": site.name}))
        registered = self.dbsession.scalar(
            select(Registration.id).where(Registration.account_id == account.id,
                                          Registration.site_id == site.id,
                                          Registration.state == "active")
        )
        if registered is None:
            raise NotAllowed(_("Only people registered with ${site} can declare stays there.",
                               mapping={"site": site.name}), "site")

    def _check_days(self, first_day, last_day):
        today = to_tokyo(self.clock()).date()
        if last_day < first_day:
            raise InvalidInput(_("The last day cannot be before the first day."), "last_day")
        if last_day > today:
            raise InvalidInput(_("Stays can be declared once they have taken place."),
                               "last_day")
        if first_day < one_year_earlier(today):
            raise InvalidInput(_("Only stays in the last 12 months can be declared."),
                               "first_day")
        if (last_day - first_day).days + 1 > MAX_DECLARED_DAYS:
            raise InvalidInput(_("Declare at most a year at a time."), "last_day")

    def _checked_documents(self, documents) -> list[tuple]:
        documents = [(name or "", data) for name, data in documents if data]
        if not documents:
            raise InvalidInput(_("Attach at least one document (a receipt or a lodging "
                                 "certificate)."), "document_1")
        if len(documents) > MAX_DOCUMENTS:
            raise InvalidInput(_("Attach at most ${n} documents.", mapping={"n": MAX_DOCUMENTS}),
                               "document_1")
        checked = []
        for number, (filename, data) in enumerate(documents, 1):
            field_name = f"document_{number}"
            if len(data) > self.settings.upload_max_bytes:
                raise InvalidInput(
                    _("${file} is too large (at most ${mb} MB).",
                      mapping={"file": filename,
                               "mb": round(self.settings.upload_max_bytes / 1024 / 1024, 1)}),
                    field_name)
            media_type = document_type(data)
            if media_type is None:
                raise InvalidInput(_("${file} is not a PDF, JPEG or PNG file.",
                                     mapping={"file": filename}), field_name)
            checked.append((filename, media_type, data))
        return checked

    @staticmethod
    def _require_current(point):
        if point.retired_at is not None:
            raise Conflict(_("This place has been retired."))

    @staticmethod
    def _require_pending(declaration):
        if declaration.state != "pending":
            raise Conflict(_("This declaration has already been decided."))

    @staticmethod
    def _decide(declaration, state, actor, now):
        declaration.state = state
        declaration.decided_at = now
        declaration.decided_by_id = actor.account_id

    def _audit(self, actor, action, target, **detail):
        AuditLog(self.dbsession, self.clock).record(actor, action, site_id=target.site_id,
                                                    target=target, **detail)

    def _rejected_mail(self, declaration) -> Mail:
        account = self.dbsession.get(Account, declaration.account_id)
        site = self.dbsession.get(Site, declaration.site_id)
        translate = localizer_for(self.settings, account.locale).translate
        mapping = {"name": account.display_name, "site": site.name,
                   "first": declaration.first_day.strftime("%Y/%m/%d"),
                   "last": declaration.last_day.strftime("%Y/%m/%d")}
        lines = [
            translate(_("Dear ${name},", mapping=mapping)), "",
            translate(_("${site} could not confirm your declared stay from ${first} to ${last}, "
                        "for this reason:", mapping=mapping)),
            "", declaration.reason, "",
            translate(_("You can declare it again with other documents:")),
            self.settings.base_url + "/my/premium",
        ]
        return Mail(to=account.email,
                    subject=translate(_("Your declared stay at ${site}", mapping=mapping)),
                    text="\n".join(lines) + "\n")


def document_type(data: bytes) -> str | None:
    """PDF, JPEG or PNG told by the content; images must also decode as such."""
    media_type = next((kind for magic, kind in MAGIC if data.startswith(magic)), None)
    if media_type in IMAGE_FORMATS:
        # Imported here: only uploads decode images, and the web process's memory need
        # not hold Pillow from start-up for every page.
        from PIL import Image as PILImage

        try:
            with PILImage.open(io.BytesIO(data)) as image:
                if image.format != IMAGE_FORMATS[media_type]:
                    return None
                image.verify()
        except Exception:  # noqa: BLE001 - any decoding failure means "not this type"
            return None
    return media_type


def _checked_name(name) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput(_("Give the name of the place."), "name")
    if len(name) > NAME_MAX:
        raise InvalidInput(_("The name is too long (at most ${n} characters).",
                             mapping={"n": NAME_MAX}), "name")
    return name


def _checked_kind(kind) -> str:
    if kind not in POINT_KINDS:
        raise InvalidInput(_("Choose the kind of place."), "kind")
    return kind
