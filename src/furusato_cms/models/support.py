"""Support measures (サポート施策), partner businesses' offers (優待), and applications.

A measure and an offer are content: they share the posts' publishing workflow (draft →
review → published → archived, versions, history) through their own joined tables, so
a reviewer (公開承認者) publishes them exactly as posts.

**No return gifts (返礼品).** The families below are the whole list: each is a benefit
used in the region or for activity there. None of them ships goods to people who do
not come, the database refuses any other family, and every row carries the editor's
confirmation that it is a local benefit. Partner offers are redeemed in person at the
business, which checks the registrant's card QR (/verify); there is no delivery kind.
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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .content import ContentItem
from .meta import Base

ACTIVITY_FAMILIES = ("travel", "lodging", "workspace", "vacant_house_renovation")
"""活動支援: travel and lodging subsidies, workspace fees, vacant-house renovation."""
RESIDENT_FAMILIES = (
    "residents_only_facility",
    "resident_rate",
    "neighbourhood_association",
    "evacuation_shelter",
)
"""住民同等の支援: facilities reserved for residents, resident rates, joining the
neighbourhood association, evacuation shelter if hit by disaster at home."""
SUPPORT_FAMILIES = ACTIVITY_FAMILIES + RESIDENT_FAMILIES

APPLICANT_TIERS = ("premium", "basic")
"""The lowest tier that may apply: ``premium`` (premium only) or ``basic`` (premium and
basic; only for activity support)."""

CAP_UNITS = ("per_application", "per_night", "per_person_year")
"""What the cap (上限額) counts: one application; each night stayed (the cap times the
nights); one person over one fiscal year (April to March, Japan time), across all their
approved applications to the measure."""

OFFER_KINDS = ("shop", "restaurant", "lodging", "transport", "leisure", "service")
"""Businesses whose offer is used at their counter in the region."""

APPLICATION_STATES = ("submitted", "approved", "rejected", "paid")
OPEN_APPLICATION = "state = 'submitted'"
"""An application is *open* while it waits for a decision: one per person and measure
(a person applies again, e.g. for the next trip, once the last one is decided)."""

_IN = "{} IN {!r}".format


class SupportMeasure(ContentItem):
    """A support measure of the site. Title, summary and description (Markdown body)
    are the content fields; the rest is the measure's terms.

    The payable amount is ``floor(eligible costs × rate_numerator / rate_denominator)``
    clipped to the cap. A rate of 0 is a measure that pays no money: the approval
    itself is the benefit (a place in the evacuation shelter, the resident rate)."""

    __tablename__ = "support_measures"
    __table_args__ = (
        CheckConstraint(_IN("family", SUPPORT_FAMILIES), name="family"),
        CheckConstraint(_IN("applicants", APPLICANT_TIERS), name="applicants"),
        CheckConstraint(
            f"applicants = 'premium' OR family IN {ACTIVITY_FAMILIES!r}", name="basic_activity"
        ),
        CheckConstraint(_IN("cap_unit", CAP_UNITS), name="cap_unit"),
        CheckConstraint(
            "rate_denominator >= 1 AND rate_numerator >= 0 "
            "AND rate_numerator <= rate_denominator",
            name="rate",
        ),
        CheckConstraint("cap_yen >= 0", name="cap"),
        CheckConstraint("budget_yen >= 0", name="budget"),
        CheckConstraint("confirmed_local_benefit = true", name="local_benefit"),
    )
    __mapper_args__ = {"polymorphic_identity": "support"}

    id: Mapped[int] = mapped_column(
        ForeignKey("content_items.id", ondelete="CASCADE"), primary_key=True
    )
    family: Mapped[str] = mapped_column(String(40))
    applicants: Mapped[str] = mapped_column(String(10), default="premium")
    rate_numerator: Mapped[int] = mapped_column(default=1)
    rate_denominator: Mapped[int] = mapped_column(default=2)
    cap_yen: Mapped[int] = mapped_column(default=0)
    cap_unit: Mapped[str] = mapped_column(String(20), default="per_application")
    form_fields: Mapped[list] = mapped_column(JSON, default=list)
    """The measure's own questions: [{"key", "label", "kind": text|number|date|yen,
    "required"}]."""
    budget_yen: Mapped[int] = mapped_column(default=0)
    confirmed_local_benefit: Mapped[bool] = mapped_column(default=False)
    """The editor confirmed it is a benefit used in the region or for activity there."""

    @property
    def pays_money(self) -> bool:
        return self.rate_numerator > 0


class PartnerOffer(ContentItem):
    """優待: a local business's offer to registrants (割引, 優待), e.g. 10% off at a shop.
    The summary holds the offer itself; the business checks the card at its counter."""

    __tablename__ = "partner_offers"
    __table_args__ = (
        CheckConstraint(_IN("business_kind", OFFER_KINDS), name="business_kind"),
        CheckConstraint(_IN("applicants", APPLICANT_TIERS), name="applicants"),
        CheckConstraint("confirmed_local_benefit = true", name="local_benefit"),
    )
    __mapper_args__ = {"polymorphic_identity": "offer"}

    id: Mapped[int] = mapped_column(
        ForeignKey("content_items.id", ondelete="CASCADE"), primary_key=True
    )
    business_name: Mapped[str] = mapped_column(String(200))
    business_kind: Mapped[str] = mapped_column(String(20))
    place: Mapped[str] = mapped_column(String(300))
    """Where the offer is used, in the region (address or landmark)."""
    applicants: Mapped[str] = mapped_column(String(10), default="basic")
    confirmed_local_benefit: Mapped[bool] = mapped_column(default=False)


class SupportApplication(Base):
    """A registrant's application for a measure, with the amount computed (never typed).

    ``submitted_amount`` and ``computation`` are the result at submission;
    ``approved_amount`` and ``approval_computation`` are computed again at approval
    (the measure's terms or the person's earlier approvals may have changed), and both
    stay, so a difference is visible rather than silent."""

    __tablename__ = "support_applications"
    __table_args__ = (
        CheckConstraint(_IN("state", APPLICATION_STATES), name="state"),
        CheckConstraint("submitted_amount >= 0", name="submitted_amount"),
        CheckConstraint(
            "approved_amount IS NULL OR approved_amount >= 0", name="approved_amount"
        ),
        Index("ix_support_applications_site_state", "site_id", "state", "submitted_at"),
        Index("ix_support_applications_measure_state", "measure_id", "state"),
        Index("ix_support_applications_account_measure", "account_id", "measure_id"),
        Index("uq_support_applications_request_token", "request_token", unique=True),
        Index("uq_support_applications_open", "account_id", "measure_id", unique=True,
              postgresql_where=text(OPEN_APPLICATION), sqlite_where=text(OPEN_APPLICATION)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("support_measures.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    state: Mapped[str] = mapped_column(String(10), default="submitted")
    tier: Mapped[str] = mapped_column(String(10))
    """The tier the person applied with (for the record)."""
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    costs: Mapped[list] = mapped_column(JSON, default=list)
    """Eligible costs: [{"label", "amount" (yen), "nights"}]."""
    submitted_amount: Mapped[int] = mapped_column(default=0)
    computation: Mapped[dict] = mapped_column(JSON, default=dict)
    approved_amount: Mapped[int | None] = mapped_column(default=None)
    approval_computation: Mapped[dict | None] = mapped_column(JSON, default=None)
    submitted_at: Mapped[datetime]
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id"), index=True, default=None
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    """Why it was rejected; shown to the applicant."""
    paid_at: Mapped[datetime | None] = mapped_column(default=None)
    paid_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id"), index=True, default=None
    )
    request_token: Mapped[str | None] = mapped_column(String(64), default=None)
    """The form's one-time token: the same form sent twice answers with this application."""

    measure = relationship("SupportMeasure")
    account = relationship("Account", foreign_keys=[account_id])
    receipts = relationship(
        "SupportReceipt", cascade="all, delete-orphan", order_by="SupportReceipt.id",
        back_populates="application",
    )


class SupportReceipt(Base):
    """A receipt uploaded with an application (領収書): PDF, JPEG or PNG by content."""

    __tablename__ = "support_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("support_applications.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(300))
    media_type: Mapped[str] = mapped_column(String(40))
    byte_size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[datetime]

    application = relationship("SupportApplication", back_populates="receipts")
