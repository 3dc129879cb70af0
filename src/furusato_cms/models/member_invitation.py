"""Invitations from a member list (会員名簿からの招待): a fan club's or a newsletter's members
invited to register with a site (制度周知).

A ``MemberImport`` is one uploaded list: checked, attested and then sent. Each address it
invites is a ``MemberInvitee``, which is also that mail's place in the bulk sender's
queue (the same states and claim columns as ``mail_outbox``). ``(site, email_hash)`` is
unique, so a site never invites one address twice, whichever list it came in.

Personal data is kept only while it is needed: the address and name until the link is
used or has expired (then emptied; the hash stays so the address is not invited again),
and never the postal code or member number, which are only checked. The funnel
(invited → signed up → registered → premium) is counted from ``account_id``.
"""
from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .engagement import OUTBOX_STATES
from .meta import Base

MEMBER_IMPORT_STATES = ("checked", "sent", "expired")
"""checked: read and previewed, waiting for "send"; sent: its invitations are queued;
expired: never sent, and its file dropped."""
ATTESTED_VIA = ("web", "command line")


class MemberImport(Base):
    """One member list: who uploaded and attested it, the wording attested (as shown, in
    the language it was shown in), the report of its check, and — until it is sent or
    a day has passed — the file itself."""

    __tablename__ = "member_imports"
    __table_args__ = (
        CheckConstraint(f"state IN {MEMBER_IMPORT_STATES!r}", name="state"),
        CheckConstraint(f"attested_via IN {ATTESTED_VIA!r}", name="attested_via"),
        Index("ix_member_imports_site_created", "site_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    filename: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    state: Mapped[str] = mapped_column(String(10), default="checked")
    attestation: Mapped[str] = mapped_column(Text)
    """The wording the person agreed to, exactly as it was shown."""
    attested_via: Mapped[str] = mapped_column(String(20), default="web")
    attested_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True,
                                                       default=None)
    message: Mapped[str] = mapped_column(Text, default="")
    """The site's own words, put at the top of the invitation."""
    report: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True,
                                                   default=None)


class MemberInvitee(Base):
    """One address invited from a list, and its mail in the sender's queue."""

    __tablename__ = "member_invitees"
    __table_args__ = (
        UniqueConstraint("site_id", "email_hash"),
        CheckConstraint(f"state IN {OUTBOX_STATES!r}", name="state"),
        Index("ix_member_invitees_state_import", "state", "member_import_id", "id"),
        Index("ix_member_invitees_claim", "claim"),
        Index("ix_member_invitees_unused", "used_at", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_import_id: Mapped[int] = mapped_column(
        ForeignKey("member_imports.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    email_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the normalised address: what "invited before" is decided by."""
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    claim: Mapped[str | None] = mapped_column(String(32), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the link was used: it works once."""
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True,
                                                   default=None)
    """The account that used the link (new, or the person's own after signing in)."""
    unsubscribed_at: Mapped[datetime | None] = mapped_column(default=None)
