"""Invitations from a member list (会員名簿からの招待, 制度周知): a fan club's or a newsletter's
members invited to register with the site that keeps the list.

1. ``check``: a coordinator uploads the list (.xlsx or .csv; a column named メールアドレス
   or email is required, 氏名/name, 郵便番号/postal code and 会員番号/member number are
   optional) and attests that the site may contact these people for this purpose. Every
   row is checked (``{row, column, message}``); addresses twice in the file, already
   registered with the site or invited before are reported and left out. The file is
   kept (a day at most) only when no row has an error.
2. ``send``: the invitations are queued — one ``MemberInvitee`` each, INSERT … ON
   CONFLICT DO NOTHING on (site, address), so a list sent twice, or two lists sharing
   addresses, invite nobody twice — and ``furusato-send-campaign`` sends them with the
   notices' outbox (``InvitationSender``), resumably, with RFC 8058 one-click stop.
3. The mail's link is signed (HMAC over the invitee) and works once (``used_at`` is set
   by a conditional UPDATE): it leads to sign-up with the address already confirmed, or
   to signing in for a person who has an account, then to the site's registration.

The funnel per list (invited → signed up → registered → premium) is counted from the
accounts that used the links: counts only, no tracking pixels, no per-person report.
"""
import base64
import hashlib
import hmac
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta

import colander
from babel.dates import format_date
from sqlalchemy import and_, case, func, or_, select, update

from ..clock import to_tokyo
from ..i18n import DEFAULT_LOCALE, _
from ..models import Account, MemberImport, MemberInvitee, Registration, Site
from ..workbooks import UnpackLimits
from .audit import AuditLog, Actor
from .authentication import account_actor
from .bulk_sql import insert_ignoring_duplicates
from .bulk_sender import QueueSender
from .errors import Conflict, InvalidInput
from .mail import Mail, localizer_for
from .registrant_accounts import RegistrantAccountService
from .tabular_files import (
    CellError,
    FileError,
    RowError,
    bounded_file,
    clean_text,
    is_blank,
    postal_code,
    sheet_rows,
    stored_message,
    upload_name,
)

WIDTH = 26
"""Columns read (A–Z): a list's columns may come in any order."""
MAX_ROWS = 50_000
"""More than the largest fan club (気仙沼ファンクラブ, about 22,000 members)."""
QUERY_CHUNK = 1000
MAX_REPORTED_ERRORS = 1000
"""A list of 50,000 wrong rows reports the first thousand (and how many in all)."""
KEPT_FOR = timedelta(hours=24)
EMAIL_MAX = 254
NAME_MAX = 100
MEMBER_NUMBER_MAX = 50
MESSAGE_MAX = 1000
HEADINGS = {
    "email": ("email", "emailaddress", "mail", "mailaddress", "メールアドレス", "メール",
              "電子メール", "電子メールアドレス", "eメール", "eメールアドレス"),
    "name": ("name", "fullname", "displayname", "氏名", "名前", "お名前", "ニックネーム"),
    "postal_code": ("postalcode", "postcode", "zip", "zipcode", "郵便番号", "〒"),
    "member_number": ("membernumber", "memberno", "memberid", "会員番号", "会員no", "会員id"),
}
_HEADING_KEYS = {key: name for name, keys in HEADINGS.items() for key in keys}
_HEADING_NOTE = re.compile(r"[（(][^）)]*[）)]")
"""「メールアドレス（必須）」: a note in brackets is not part of the name."""
_HEADING_NOISE = re.compile(r"[\s_\-.．・:：※*＊]")
_EMAIL = re.compile(colander.EMAIL_RE)
_DOMAIN = re.compile(r"@[^@.\s]+(\.[^@.\s]+)+$")
"""Mail goes only to a domain with a dot: ``someone@example`` is a typing mistake."""


def attestation_text(site_name: str) -> object:
    """What the coordinator attests: shown in the form and stored as it was shown."""
    return _("${site} may send the people on this list one invitation to register with "
             "${site} for the Furusato resident registration: they gave the list's keeper "
             "their address to hear from us, and nobody on it has asked not to be contacted.",
             mapping={"site": site_name})


def email_hash(email: str) -> str:
    return hashlib.sha256(email.encode("utf-8")).hexdigest()


def _heading_key(value) -> str:
    text = unicodedata.normalize("NFKC", clean_text(value)).lower()
    return _HEADING_NOISE.sub("", _HEADING_NOTE.sub("", text))


# --- reading a list ----------------------------------------------------------------------

@dataclass(frozen=True)
class Member:
    row: int
    email: str
    display_name: str


@dataclass
class MemberList:
    """A list as read: who would be invited, and every row reported."""

    rows_read: int = 0
    members: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    duplicates: list = field(default_factory=list)
    already_registered: list = field(default_factory=list)
    already_invited: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def report(self) -> dict:
        """JSON, with each error's msgid kept so it is shown in the reader's language."""
        return {
            "rows_read": self.rows_read,
            "to_invite": len(self.members),
            "errors": [{"row": e.row, "column": e.column, **stored_message(e.message)}
                       for e in sorted(self.errors, key=lambda e: (e.row, e.column))
                       [:MAX_REPORTED_ERRORS]],
            "error_count": len(self.errors),
            "rows_refused": len({e.row for e in self.errors}),
            "duplicates": self.duplicates,
            "already_registered": self.already_registered,
            "already_invited": self.already_invited,
        }


def _columns(number, values) -> dict:
    """Which column holds what, from the list's first row."""
    columns = {}
    for index, value in enumerate(values):
        name = _HEADING_KEYS.get(_heading_key(value))
        if name and name not in columns:
            columns[name] = index
    if "email" not in columns:
        raise FileError(_("Row ${row} should hold the column names, with one named "
                          "“メールアドレス” (or “email”), but none is.", mapping={"row": number}))
    return columns


def _member(number, values, columns, errors) -> Member | None:
    """One row as a member, or None with its problems added to ``errors``."""
    found = []

    def cell(name):
        index = columns.get(name)
        return None if index is None else values[index]

    def refuse(name, message):
        # openpyxl is imported where used: the web process's memory need not hold it
        # (and Pillow, which it loads) from start-up for every page.
        from openpyxl.utils import get_column_letter

        found.append(RowError(number, get_column_letter(columns[name] + 1), message))

    email = clean_text(cell("email")).lower()
    if not email:
        refuse("email", _("The email address is missing."))
    elif len(email) > EMAIL_MAX or not (_EMAIL.match(email) and _DOMAIN.search(email)):
        refuse("email", _("“${value}” is not an email address.", mapping={"value": email[:80]}))
    name = clean_text(cell("name"))
    if len(name) > NAME_MAX:
        refuse("name", _("The name is longer than ${max} characters.",
                         mapping={"max": NAME_MAX}))
    if clean_text(cell("postal_code")):
        try:
            postal_code(cell("postal_code"))
        except CellError as exc:
            refuse("postal_code", exc.message)
    if len(clean_text(cell("member_number"))) > MEMBER_NUMBER_MAX:
        refuse("member_number", _("The member number is longer than ${max} characters.",
                                  mapping={"max": MEMBER_NUMBER_MAX}))
    errors.extend(found)
    return None if found else Member(number, email, name)


def _chunks(items: list):
    for start in range(0, len(items), QUERY_CHUNK):
        yield items[start:start + QUERY_CHUNK]


# --- the links ---------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class InvitationLinks:
    """``<invitee id>.<mac>``, one key for the link that registers and another for the
    one that stops invitations, both derived from the session secret."""

    def __init__(self, settings):
        self.settings = settings
        secret = settings.session_secret.encode("utf-8")
        self._keys = {purpose: hmac.new(secret, f"furusato-cms member {purpose} v1".encode(),
                                        hashlib.sha256).digest()
                      for purpose in ("welcome", "stop")}

    def token(self, invitee_id: int, purpose: str) -> str:
        payload = str(int(invitee_id))
        mac = hmac.new(self._keys[purpose], payload.encode("ascii"), hashlib.sha256).digest()
        return f"{payload}.{_b64(mac)}"

    def url(self, invitee_id: int, purpose: str) -> str:
        path = "/welcome/" if purpose == "welcome" else "/welcome/stop/"
        return self.settings.base_url + path + self.token(invitee_id, purpose)

    def read(self, token: str, purpose: str) -> int | None:
        """The invitee id of a link we made for ``purpose``, else None."""
        if not token or len(token) > 100 or not token.isascii() or token.count(".") != 1:
            return None
        payload, _mac = token.split(".")
        if not (payload.isdigit() and len(payload) <= 9):
            return None
        return int(payload) if hmac.compare_digest(token, self.token(int(payload), purpose)) \
            else None


# --- the mail ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ClaimedInvitation:
    outbox_id: int
    email: str
    display_name: str
    site_name: str
    message: str


def invitation_mail(settings, links, row, expires_on) -> Mail:
    """The invitation, in Japanese (the list says nothing of a person's language)."""
    translate = localizer_for(settings, DEFAULT_LOCALE).translate
    mapping = {"site": row.site_name, "name": row.display_name,
               "date": format_date(expires_on, "long", locale=DEFAULT_LOCALE)}
    stop = links.url(row.outbox_id, "stop")
    greeting = (_("Dear ${name},", mapping=mapping) if row.display_name
                else _("Hello from ${site},", mapping=mapping))
    lines = [translate(greeting), ""]
    if row.message:
        lines += [row.message, ""]
    lines += [
        translate(_("${site} takes part in the Furusato resident registration "
                    "(ふるさと住民登録): people who live elsewhere register a lasting tie with "
                    "a town they care about, hear its news and can help with its activities. "
                    "Registering is free and takes a few minutes on a smartphone.",
                    mapping=mapping)),
        "",
        translate(_("Start with this link. Your email address needs no further check. The "
                    "link works once, until ${date}.", mapping=mapping)),
        links.url(row.outbox_id, "welcome"),
        "", "--",
        translate(_("${site} sent you this one invitation because your address is on a "
                    "member list it keeps.", mapping=mapping)),
        translate(_("Receive no more invitations from ${site}:", mapping=mapping)),
        stop,
    ]
    return Mail(
        to=row.email,
        subject=translate(_("An invitation from ${site}: the Furusato resident registration",
                            mapping=mapping)),
        text="\n".join(lines) + "\n",
        headers={"List-Unsubscribe": f"<{stop}>",
                 "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )


class InvitationSender(QueueSender):
    """The invitations' queue (``member_invitees``), by list; sent by furusato-send-campaign."""

    model = MemberInvitee
    scope_name = "member_import_id"

    def __init__(self, dbsession, *, clock, settings):
        super().__init__(dbsession, clock=clock, settings=settings)
        self.links = InvitationLinks(settings)

    def _claimed(self, token) -> list:
        rows = self.dbsession.execute(
            select(MemberInvitee.id, MemberInvitee.email, MemberInvitee.display_name,
                   Site.name, MemberImport.message)
            .join(MemberImport, MemberImport.id == MemberInvitee.member_import_id)
            .join(Site, Site.id == MemberInvitee.site_id)
            .where(MemberInvitee.claim == token)
            .order_by(MemberInvitee.id)
        ).all()
        return [ClaimedInvitation(*row) for row in rows]

    def _mail(self, row) -> Mail:
        days = self.settings.member_invitation_days
        return invitation_mail(self.settings, self.links, row,
                               to_tokyo(self.clock() + timedelta(days=days)).date())


# --- the service -------------------------------------------------------------------------

@dataclass(frozen=True)
class Funnel:
    """招待 → 登録アカウント作成 → 住民登録 → プレミアム, counted."""
    invited: int = 0
    mailed: int = 0
    signed_up: int = 0
    registered: int = 0
    premium: int = 0


class MemberInvitationService:
    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.audit = AuditLog(dbsession, clock)
        self.links = InvitationLinks(settings)

    # reading and checking --------------------------------------------------------------

    def read(self, site, filename, content: bytes) -> MemberList:
        """The list checked row by row against the site's registrations and invitations
        (nothing is written). FileError when the file cannot be used at all."""
        _kind, sheet = sheet_rows(upload_name(filename), io.BytesIO(content), limit=None,
                                  width=WIDTH, unpack=UnpackLimits.from_settings(self.settings))
        try:
            found = self._members(sheet)
        finally:
            sheet.close()  # while its file is open: a CSV reader detaches from it
        self._leave_out_known(site, found)
        return found

    def _members(self, sheet) -> MemberList:
        """The rows after the column names, checked one by one (nothing compared yet)."""
        rows = ((number, values) for number, values in sheet if not is_blank(values))
        heading = next(rows, None)
        if heading is None:
            raise FileError(_("The file has no rows."))
        columns = _columns(*heading)
        found = MemberList()
        first_row = {}
        for number, values in rows:
            found.rows_read += 1
            if found.rows_read > MAX_ROWS:
                raise FileError(_("The list has more than ${max} people. Split it into "
                                  "several files.", mapping={"max": MAX_ROWS}))
            member = _member(number, values, columns, found.errors)
            if member is None:
                continue
            if member.email in first_row:
                found.duplicates.append({"row": number, "first_row": first_row[member.email]})
                continue
            first_row[member.email] = number
            found.members.append(member)
        if not found.rows_read:
            raise FileError(_("The list has column names but no people."))
        return found

    def _leave_out_known(self, site, found: MemberList):
        """Leave out people registered with the site and addresses it invited before."""
        emails = [m.email for m in found.members]
        registered, invited = set(), set()
        for chunk in _chunks(emails):
            registered.update(self.dbsession.scalars(
                select(Account.email).join(Registration, Registration.account_id == Account.id)
                .where(Account.email.in_(chunk), Registration.site_id == site.id)))
            invited.update(self.dbsession.scalars(
                select(MemberInvitee.email_hash)
                .where(MemberInvitee.site_id == site.id,
                       MemberInvitee.email_hash.in_([email_hash(e) for e in chunk]))))
        kept = []
        for member in found.members:
            if member.email in registered:
                found.already_registered.append(member.row)
            elif email_hash(member.email) in invited:
                found.already_invited.append(member.row)
            else:
                kept.append(member)
        found.members = kept

    def read_upload(self, site, filename, stream, max_bytes: int | None = None) -> tuple:
        """``(content, list)`` of an uploaded file, bounded in size, nothing written."""
        content = bounded_file(stream, max_bytes or self.settings.upload_max_bytes).read()
        return content, self.read(site, filename, content)

    def check(self, actor, site, filename, stream, *, attestation: str, message: str = "",
              via: str = "web", max_bytes: int | None = None) -> tuple:
        """``(record, list)``: the list read and recorded with its attestation; the file is
        kept for ``send`` only when every row is right."""
        message = (message or "").strip()
        if len(message) > MESSAGE_MAX:
            raise InvalidInput(_("Write at most ${max} characters.", mapping={"max": MESSAGE_MAX}),
                               field="message")
        filename = upload_name(filename)
        content, found = self.read_upload(site, filename, stream, max_bytes)
        now = self.clock()
        self._expire_kept(now)
        sendable = found.ok and bool(found.members)
        record = MemberImport(
            site_id=site.id, filename=filename, sha256=hashlib.sha256(content).hexdigest(),
            content=content if sendable else None, state="checked" if sendable else "expired",
            attestation=attestation, attested_via=via, attested_by_id=actor.account_id,
            message=message, report=found.report(), created_at=now,
        )
        self.dbsession.add(record)
        self.dbsession.flush()
        self.audit.record(actor, "member_import.checked", site_id=site.id, target=record,
                          rows=found.rows_read, errors=len(found.errors),
                          already_registered=len(found.already_registered))
        return record, found

    def _expire_kept(self, now):
        self.dbsession.execute(
            update(MemberImport)
            .where(MemberImport.state == "checked", MemberImport.created_at < now - KEPT_FOR)
            .values(state="expired", content=None)
            .execution_options(synchronize_session=False))

    def is_sendable(self, record) -> bool:
        return (record.state == "checked" and record.content is not None
                and record.created_at >= self.clock() - KEPT_FOR)

    # sending ---------------------------------------------------------------------------

    def send(self, actor, site, record) -> int:
        """Queue the list's invitations; returns how many were queued (addresses invited
        meanwhile, by another list or a second click, are not invited again)."""
        if not self.is_sendable(record):
            raise Conflict(_("This list was sent already or is no longer kept. Upload it "
                             "again."))
        # Read again rather than trust the check: people register and other lists are
        # sent during the day the file is kept.
        found = self.read(site, record.filename, record.content)
        if not found.ok:
            raise Conflict(_("This list has rows to correct. Upload it again."))
        queued = insert_ignoring_duplicates(self.dbsession, MemberInvitee.__table__, [
            {"member_import_id": record.id, "site_id": site.id,
             "email_hash": email_hash(m.email), "email": m.email, "display_name": m.display_name,
             "state": "queued", "attempts": 0, "last_error": ""}
            for m in found.members
        ], ("site_id", "email_hash"))
        claimed = self.dbsession.execute(
            update(MemberImport)
            .where(MemberImport.id == record.id, MemberImport.state == "checked")
            .values(state="sent", sent_at=self.clock(), sent_by_id=actor.account_id,
                    content=None,
                    report={**found.report(), "invited": len(queued),
                            "invited_meanwhile": len(found.members) - len(queued)})
            .execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            raise Conflict(_("This list was sent already or is no longer kept. Upload it "
                             "again."))
        self.dbsession.refresh(record)
        self.audit.record(actor, "member_import.sent", site_id=site.id, target=record,
                          invited=len(queued))
        return len(queued)

    # what staff see --------------------------------------------------------------------

    def imports_of(self, site, limit=50) -> list:
        return list(self.dbsession.scalars(
            select(MemberImport).where(MemberImport.site_id == site.id)
            .order_by(MemberImport.created_at.desc(), MemberImport.id.desc()).limit(limit)))

    def funnels(self, import_ids) -> dict:
        """``{import id: Funnel}`` in one grouped query."""
        if not import_ids:
            return {}
        invitee = MemberInvitee
        rows = self.dbsession.execute(
            select(invitee.member_import_id, func.count(),
                   func.coalesce(func.sum(case((invitee.state == "sent", 1), else_=0)), 0),
                   func.count(invitee.account_id), func.count(Registration.id),
                   func.coalesce(func.sum(case((Registration.tier == "premium", 1),
                                               else_=0)), 0))
            .outerjoin(Registration, (Registration.account_id == invitee.account_id)
                       & (Registration.site_id == invitee.site_id))
            .where(invitee.member_import_id.in_(list(import_ids)))
            .group_by(invitee.member_import_id)
        ).all()
        return {row[0]: Funnel(*(int(v) for v in row[1:])) for row in rows}

    # the link --------------------------------------------------------------------------

    def find_open(self, token):
        """``(invitee, site)`` for a link that still works, else None."""
        invitee_id = self.links.read(token, "welcome")
        if invitee_id is None:
            return None
        found = self.dbsession.execute(
            select(MemberInvitee, Site).join(Site, Site.id == MemberInvitee.site_id)
            .where(MemberInvitee.id == invitee_id)).first()
        if found is None:
            return None
        invitee, site = found
        if (invitee.used_at is not None or invitee.email is None or invitee.sent_at is None
                or invitee.sent_at < self.clock() - self._lifetime() or not site.is_public):
            return None
        return invitee, site

    def _lifetime(self) -> timedelta:
        return timedelta(days=self.settings.member_invitation_days)

    def situation(self, invitee, signed_in) -> str:
        """Who opens the link: "new" (no account has the address: sign up here), "mine"
        (signed in with the invited address) or "signin" (the address has an account)."""
        existing = self.dbsession.scalar(select(Account.id).where(Account.email == invitee.email))
        if existing is None:
            return "new"
        return "mine" if signed_in is not None and signed_in.id == existing else "signin"

    def accept_with_new_account(self, invitee, *, display_name, password, locale,
                                client_addr=""):
        """Sign-up through the link: the account's address counts as confirmed (the mail
        reached it). Returns the account."""
        accounts = RegistrantAccountService(self.dbsession, clock=self.clock,
                                            settings=self.settings)
        account = accounts.sign_up_confirmed(invitee.email, display_name, password, locale,
                                             client_addr)
        self._use(invitee, account, client_addr)
        return account

    def accept_signed_in(self, invitee, account, client_addr=""):
        """The invited person, signed in with the account their address already had."""
        if account.email != invitee.email:
            raise Conflict(_("This invitation was sent to another email address."))
        self._use(invitee, account, client_addr)

    def _use(self, invitee, account, client_addr):
        """Claim the link (once: a conditional UPDATE) and drop the address and name it
        was sent to: the account holds what is needed now."""
        used = self.dbsession.execute(
            update(MemberInvitee)
            .where(MemberInvitee.id == invitee.id, MemberInvitee.used_at.is_(None))
            .values(used_at=self.clock(), account_id=account.id, email=None, display_name="")
            .execution_options(synchronize_session=False))
        if used.rowcount != 1:
            raise Conflict(_("This invitation has already been used."))
        self.audit.record(account_actor(account, client_addr), "member_invitation.used",
                          site_id=invitee.site_id, target=invitee)

    # stopping and forgetting -----------------------------------------------------------

    def stop_target(self, token):
        """``(invitee, site)`` of a stop link, else None (works however old)."""
        invitee_id = self.links.read(token, "stop")
        if invitee_id is None:
            return None
        return self.dbsession.execute(
            select(MemberInvitee, Site).join(Site, Site.id == MemberInvitee.site_id)
            .where(MemberInvitee.id == invitee_id)).first()

    def stop(self, invitee):
        """No more invitations: the hash stays, so no list invites the address again;
        the address and name go, and the link no longer works."""
        self.dbsession.execute(
            update(MemberInvitee).where(MemberInvitee.id == invitee.id)
            .values(unsubscribed_at=func.coalesce(MemberInvitee.unsubscribed_at, self.clock()),
                    email=None, display_name="")
            .execution_options(synchronize_session=False))
        self.audit.record(Actor.system("invitee"), "member_invitation.stopped",
                          site_id=invitee.site_id, target=invitee)

    def forget_expired(self) -> int:
        """Empty the address and name of links never used and expired, and of mails the
        server refused for good as long ago (the job runs it)."""
        cutoff = self.clock() - self._lifetime()
        result = self.dbsession.execute(
            update(MemberInvitee)
            .where(MemberInvitee.used_at.is_(None), MemberInvitee.email.is_not(None),
                   or_(MemberInvitee.sent_at < cutoff,
                       and_(MemberInvitee.state == "failed", MemberInvitee.claimed_at < cutoff)))
            .values(email=None, display_name="")
            .execution_options(synchronize_session=False))
        return result.rowcount
