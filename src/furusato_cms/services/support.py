"""Support measures (サポート施策) and partner businesses' offers (優待), and the
applications registrants make for measures.

**No return gifts (返礼品).** A measure's family must be one of the listed families
(activity support 活動支援: travel, lodging, workspace, vacant-house renovation;
resident-equivalent support 住民同等の支援: residents-only facilities, resident rates,
the neighbourhood association, evacuation shelter) and the editor must confirm each time
they save it that it is a benefit used in the region or for activity there. A partner
offer is used in person at the business's counter in the region, which checks the
registrant's card at /verify; there is no delivery kind. The database refuses anything
else too (models/support.py).

**Who may apply.** A measure is for premium registrants only, or (activity support only)
for basic registrants too. The applicant needs an active registration with the measure's
site and, where premium is required, a premium registration valid at that moment. Every
refusal names the rule (``Eligibility.rule``) in the person's language.

**The amount is computed, never typed**: ``floor(eligible costs × rate)`` in whole yen,
clipped to the cap — per application, per night (the cap times the nights), or per
person and fiscal year (April–March, Japan time, less what was already approved for the
person in that year). The computation is stored with the application at submission and
computed again at approval; both stay on record, so any difference is visible.

**The budget**: approved and paid amounts together may not exceed the measure's budget.
An approval locks the measure's row first, so two coordinators approving at the same
moment cannot overspend it.

Each decision (approved, not approved, paid) is told to the applicant through the
notification service (inbox and mail, kind ``application_result``, as their preferences
say), linking to /my/support.
"""
import os
from dataclasses import dataclass

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from ..clock import to_tokyo
from ..i18n import _
from ..models import (
    GENERIC_PLAN,
    ContentItem,
    PartnerOffer,
    Registration,
    SupportApplication,
    SupportMeasure,
    SupportReceipt,
)
from ..models.support import (
    ACTIVITY_FAMILIES,
    APPLICANT_TIERS,
    CAP_UNITS,
    OFFER_KINDS,
    SUPPORT_FAMILIES,
)
from ..spreadsheet import csv_bytes
from .audit import AuditLog
from .errors import Conflict, InvalidInput, NotAllowed
from .notifications import NotificationService
from .paging import Page, Read, fetch_page, read_one
from .publishing import TRANSITIONS, PublishingService, visible_at_now, visible_now
from .support_rules import (
    Payable,
    checked_answers,
    checked_costs,
    checked_form_fields,
    checked_receipts,
    compute_payable,
    fiscal_year_bounds,
    yen,
)

MEASURE_KIND = "life"
"""The posts' kind column, fixed for measures and offers (life information)."""
QUEUE_PAGE_SIZE = 50
RATE_DENOMINATOR_MAX = 100
YEN_MAX = 2_000_000_000
"""Caps and budgets fit the database's integer; no single measure comes near it."""
REASON_MAX = 2000
PLACE_MAX = 300
BUSINESS_MAX = 200
HANDLED_STATES = ("approved", "paid")
"""Applications whose amount uses the budget."""

FAMILY_LABELS = {
    "travel": _("Travel costs"),
    "lodging": _("Lodging costs"),
    "workspace": _("Workspace fees"),
    "vacant_house_renovation": _("Vacant-house renovation"),
    "residents_only_facility": _("Facilities reserved for residents"),
    "resident_rate": _("Resident rates"),
    "neighbourhood_association": _("Joining the neighbourhood association"),
    "evacuation_shelter": _("Evacuation shelter if hit by disaster at home"),
}
GROUP_LABELS = {
    "activity": _("Support for activities in the region"),
    "resident": _("Support as for residents"),
}
APPLICANT_LABELS = {
    "premium": _("Premium registrants only"),
    "basic": _("Premium and basic registrants"),
}
CAP_UNIT_LABELS = {
    "per_application": _("per application"),
    "per_night": _("per night"),
    "per_person_year": _("per person per fiscal year"),
}
OFFER_KIND_LABELS = {
    "shop": _("Shop"),
    "restaurant": _("Restaurant or café"),
    "lodging": _("Lodging"),
    "transport": _("Transport"),
    "leisure": _("Leisure facility or hot spring"),
    "service": _("Other service used on site"),
}
FIELD_KIND_LABELS = {
    "text": _("text"),
    "number": _("number"),
    "date": _("date"),
    "yen": _("amount in yen"),
}
APPLICATION_STATE_LABELS = {
    "submitted": _("Submitted, waiting for a decision"),
    "approved": _("Approved, payment to follow"),
    "rejected": _("Not approved"),
    "paid": _("Paid"),
}
RETURN_GIFT_RULE = _(
    "Return gifts (返礼品) are not allowed: a support measure must be a benefit used in the "
    "region or for activity there, never goods sent to people who do not come. Choose one "
    "of the listed families."
)
OFFER_RULE = _(
    "An offer must be used in person at a business in the region (the business checks the "
    "registration card at its counter); delivery and mail order are not allowed. Choose "
    "one of the listed kinds of business."
)
CONFIRM_RULE = _(
    "Confirm that this is a benefit used in the region or for activity there, not a "
    "return gift (返礼品)."
)


def family_group(family) -> str:
    return "activity" if family in ACTIVITY_FAMILIES else "resident"


# -- decisions ----------------------------------------------------------------------


@dataclass(frozen=True)
class Eligibility:
    """Whether a person may apply for a measure now; if not, the rule that failed
    (``open``, ``registrant``, ``registration``, ``premium``, ``premium_valid``,
    ``budget``) and a message naming it."""

    allowed: bool
    rule: str | None = None
    message: object = None
    registration: Registration | None = None


def not_eligible(eligibility: Eligibility) -> NotAllowed:
    """The refusal to raise, carrying the failed rule's name as ``rule`` (a plain
    NotAllowed, so forms show it with the same status as any other refusal)."""
    refusal = NotAllowed(eligibility.message)
    refusal.rule = eligibility.rule
    return refusal


@dataclass(frozen=True)
class BudgetUse:
    """A measure's budget: approved (not yet paid), paid, and what remains; ``requested``
    is what submitted applications would take if approved as computed."""

    budget: int
    approved: int = 0
    paid: int = 0
    requested: int = 0

    @property
    def used(self) -> int:
        return self.approved + self.paid

    @property
    def remaining(self) -> int:
        return max(self.budget - self.used, 0)


@dataclass(frozen=True)
class ApprovalPreview:
    """What approving would do now: the amount computed again, and the budget left."""

    payable: Payable
    budget: BudgetUse

    @property
    def fits(self) -> bool:
        return self.payable.amount <= self.budget.remaining


@dataclass(frozen=True, slots=True)
class MeasureCard:
    """A visible measure as the site's page lists it."""

    id: int
    title: str
    summary: str


_CONTENT = ContentItem.__table__
_MEASURES = SupportMeasure.__table__
FEATURED_MEASURES = (
    select(_MEASURES.c.id, _CONTENT.c.title, _CONTENT.c.summary)
    .select_from(_CONTENT.join(_MEASURES, _MEASURES.c.id == _CONTENT.c.id))
    .where(_CONTENT.c.site_id == bindparam("site_id"), *visible_at_now(_CONTENT))
    .order_by(case({family: n for n, family in enumerate(SUPPORT_FAMILIES)},
                   value=_MEASURES.c.family),
              _CONTENT.c.title, _CONTENT.c.id)
    .limit(bindparam("limit"))
    .execution_options(**GENERIC_PLAN)
)
"""The first visible measures in ``public_measures``' order, in one prepared statement."""


class SupportService:
    """Measures and offers for editors; applications for registrants and coordinators."""

    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings
        self.audit = AuditLog(dbsession, clock)
        self.publishing = PublishingService(dbsession, clock=clock, settings=settings)

    # -- reading -------------------------------------------------------------------

    def public_measures(self, site) -> list:
        """Visible measures: activity support first, then resident-equivalent, by title."""
        measures = self.dbsession.scalars(
            select(SupportMeasure)
            .where(SupportMeasure.site_id == site.id,
                   *visible_now(SupportMeasure, self.clock()))
            .order_by(SupportMeasure.title, SupportMeasure.id)
        ).all()
        return sorted(measures, key=lambda m: SUPPORT_FAMILIES.index(m.family))

    def featured_measures(self, site, limit: int) -> list:
        return read_one(self.dbsession, self.featured_measures_read(site, limit))

    def featured_measures_read(self, site, limit: int) -> Read:
        """The first ``limit`` of ``public_measures``, as ``MeasureCard`` (the site's page)."""
        return Read(FEATURED_MEASURES,
                    {"site_id": site.id, "now": self.clock(), "limit": limit},
                    lambda rows: [MeasureCard(*row) for row in rows])

    def public_offers(self, site) -> list:
        return list(self.dbsession.scalars(
            select(PartnerOffer)
            .where(PartnerOffer.site_id == site.id, *visible_now(PartnerOffer, self.clock()))
            .order_by(PartnerOffer.business_name, PartnerOffer.id)
        ))

    def all_measures(self, site) -> list:
        """Every measure of the site in any state, last changed first (staff)."""
        return list(self.dbsession.scalars(
            select(SupportMeasure).where(SupportMeasure.site_id == site.id)
            .order_by(SupportMeasure.updated_at.desc(), SupportMeasure.id.desc())
        ))

    def all_offers(self, site) -> list:
        return list(self.dbsession.scalars(
            select(PartnerOffer).where(PartnerOffer.site_id == site.id)
            .order_by(PartnerOffer.updated_at.desc(), PartnerOffer.id.desc())
        ))

    def budget_use(self, measures) -> dict:
        """``{measure id: BudgetUse}`` in one grouped query."""
        ids = [m.id for m in measures]
        sums = {}
        if ids:
            amount = func.coalesce(SupportApplication.approved_amount,
                                   SupportApplication.submitted_amount)
            for measure_id, state, total in self.dbsession.execute(
                select(SupportApplication.measure_id, SupportApplication.state,
                       func.sum(amount))
                .where(SupportApplication.measure_id.in_(ids),
                       SupportApplication.state.in_(("submitted", *HANDLED_STATES)))
                .group_by(SupportApplication.measure_id, SupportApplication.state)
            ):
                sums[measure_id, state] = int(total or 0)
        return {
            m.id: BudgetUse(budget=m.budget_yen, approved=sums.get((m.id, "approved"), 0),
                            paid=sums.get((m.id, "paid"), 0),
                            requested=sums.get((m.id, "submitted"), 0))
            for m in measures
        }

    # -- measures ------------------------------------------------------------------

    def create_measure(self, actor, site, *, title, summary="", body="", publish_at=None,
                       expire_at=None, **terms) -> SupportMeasure:
        """A new measure is a draft; a reviewer publishes it (the posts' workflow)."""
        checked = self._checked_terms(existing_fields=(), **terms)
        measure = SupportMeasure(site_id=site.id, slug="support-" + os.urandom(8).hex(),
                                 **checked)
        self.publishing.add_draft(actor, measure, title=title, summary=summary, body=body,
                                  kind=MEASURE_KIND, publish_at=publish_at, expire_at=expire_at)
        self.audit.record(actor, "support.measure_create", site_id=site.id, target=measure,
                          **_terms_record(checked))
        return measure

    def update_measure(self, actor, measure, *, may_publish: bool, expected_version=None,
                       title, summary="", body="", publish_at=None, expire_at=None, **terms):
        """Save an edit. The text is versioned as for posts. The terms of a published
        measure are what people apply under, so only someone who may publish changes
        them; the budget never drops below what is already approved or paid."""
        checked = self._checked_terms(existing_fields=measure.form_fields or (), **terms)
        changed = {k: [getattr(measure, k), v] for k, v in checked.items()
                   if getattr(measure, k) != v}
        if changed and measure.state == "published" and not may_publish:
            raise NotAllowed(_("This measure is published: only a site administrator or a "
                               "reviewer may change its terms (family, who may apply, rate, "
                               "cap, budget, questions)."))
        used = self.budget_use([measure])[measure.id].used
        if checked["budget_yen"] < used:
            raise InvalidInput(_("${used} yen are already approved or paid, so the budget "
                                 "cannot be smaller than that.", mapping={"used": yen(used)}),
                               field="budget_yen")
        self.publishing.update(actor, measure, expected_version=expected_version, title=title,
                               summary=summary, body=body, publish_at=publish_at,
                               expire_at=expire_at)
        for name, value in checked.items():
            setattr(measure, name, value)
        self.dbsession.flush()
        self.audit.record(actor, "support.measure_update", site_id=measure.site_id,
                          target=measure, version=measure.version, changed=changed)
        return measure

    def transition(self, actor, item, to_state, comment="", *, may_publish: bool):
        """One workflow step for a measure or an offer, exactly as for posts. Publishing
        a measure tells the registrants it is for (once per measure; with a future
        ``publish_at`` the reminder run tells them when that moment has come)."""
        if (item.state, to_state) not in TRANSITIONS:
            raise NotAllowed(_("This step is not possible from the current state. Reload the "
                               "page to see which steps are available now."))
        self.publishing.transition(actor, item, to_state, comment, may_publish=may_publish)
        if (isinstance(item, SupportMeasure) and to_state == "published"
                and item.is_visible_at(self.clock())):
            self._notices().new_measure(item)
        return item

    def _checked_terms(self, *, existing_fields, family, applicants, rate_numerator,
                       rate_denominator, cap_yen, cap_unit, budget_yen, form_fields=(),
                       confirmed_local_benefit=False) -> dict:
        if family not in SUPPORT_FAMILIES:
            raise InvalidInput(RETURN_GIFT_RULE, field="family")
        if not confirmed_local_benefit:
            raise InvalidInput(CONFIRM_RULE, field="confirmed_local_benefit")
        if applicants not in APPLICANT_TIERS:
            raise InvalidInput(_("Choose who may apply."), field="applicants")
        if applicants == "basic" and family not in ACTIVITY_FAMILIES:
            raise InvalidInput(_("Support as for residents is for premium registrants only; "
                                 "basic registrants may apply only for activity support."),
                               field="applicants")
        if not (rate_denominator and 1 <= rate_denominator <= RATE_DENOMINATOR_MAX):
            raise InvalidInput(_("The rate's denominator must be a whole number from 1 to "
                                 "${max}.", mapping={"max": RATE_DENOMINATOR_MAX}),
                               field="rate_denominator")
        if rate_numerator is None or not 0 <= rate_numerator <= rate_denominator:
            raise InvalidInput(_("The rate must be from 0 (no money paid) to 1 (all costs): "
                                 "the numerator cannot be larger than the denominator."),
                               field="rate_numerator")
        if cap_unit not in CAP_UNITS:
            raise InvalidInput(_("Choose what the cap counts."), field="cap_unit")
        pays = rate_numerator > 0
        if pays and (cap_yen is None or not 1 <= cap_yen <= YEN_MAX):
            raise InvalidInput(_("Enter the cap in yen (1 to ${max}).",
                                 mapping={"max": yen(YEN_MAX)}), field="cap_yen")
        if pays and (budget_yen is None or not 1 <= budget_yen <= YEN_MAX):
            raise InvalidInput(_("Enter the budget of this measure in yen (1 to ${max}).",
                                 mapping={"max": yen(YEN_MAX)}), field="budget_yen")
        return {
            "family": family, "applicants": applicants, "rate_numerator": rate_numerator,
            "rate_denominator": rate_denominator, "cap_yen": cap_yen if pays else 0,
            "cap_unit": cap_unit if pays else "per_application",
            "budget_yen": budget_yen if pays else 0,
            "form_fields": checked_form_fields(form_fields or (), existing_fields),
            "confirmed_local_benefit": True,
        }

    # -- partner offers ------------------------------------------------------------

    def create_offer(self, actor, site, *, title, summary, body="", publish_at=None,
                     expire_at=None, **terms) -> PartnerOffer:
        """A local business's offer (優待), a draft until a reviewer publishes it."""
        checked = self._checked_offer(summary=summary, **terms)
        offer = PartnerOffer(site_id=site.id, slug="offer-" + os.urandom(8).hex(), **checked)
        self.publishing.add_draft(actor, offer, title=title, summary=summary, body=body,
                                  kind=MEASURE_KIND, publish_at=publish_at, expire_at=expire_at)
        self.audit.record(actor, "support.offer_create", site_id=site.id, target=offer,
                          business=offer.business_name, kind=offer.business_kind)
        return offer

    def update_offer(self, actor, offer, *, may_publish: bool, expected_version=None, title,
                     summary, body="", publish_at=None, expire_at=None, **terms):
        checked = self._checked_offer(summary=summary, **terms)
        changed = {k: [getattr(offer, k), v] for k, v in checked.items()
                   if getattr(offer, k) != v}
        if changed and offer.state == "published" and not may_publish:
            raise NotAllowed(_("This offer is published: only a site administrator or a "
                               "reviewer may change its business, place or who may use it."))
        self.publishing.update(actor, offer, expected_version=expected_version, title=title,
                               summary=summary, body=body, publish_at=publish_at,
                               expire_at=expire_at)
        for name, value in checked.items():
            setattr(offer, name, value)
        self.dbsession.flush()
        self.audit.record(actor, "support.offer_update", site_id=offer.site_id, target=offer,
                          version=offer.version, changed=changed)
        return offer

    @staticmethod
    def _checked_offer(*, summary, business_name, business_kind, place, applicants,
                       confirmed_local_benefit=False) -> dict:
        if business_kind not in OFFER_KINDS:
            raise InvalidInput(OFFER_RULE, field="business_kind")
        if not confirmed_local_benefit:
            raise InvalidInput(CONFIRM_RULE, field="confirmed_local_benefit")
        business_name = " ".join((business_name or "").split())
        if not business_name or len(business_name) > BUSINESS_MAX:
            raise InvalidInput(_("Enter the name of the business (at most ${max} characters).",
                                 mapping={"max": BUSINESS_MAX}), field="business_name")
        place = " ".join((place or "").split())
        if not place or len(place) > PLACE_MAX:
            raise InvalidInput(_("Enter where in the region the offer is used (at most ${max} "
                                 "characters).", mapping={"max": PLACE_MAX}), field="place")
        if not (summary or "").strip():
            raise InvalidInput(_("Say what the offer is, e.g. 10% off the bill."),
                               field="summary")
        if applicants not in APPLICANT_TIERS:
            raise InvalidInput(_("Choose who may use the offer."), field="applicants")
        return {"business_name": business_name, "business_kind": business_kind,
                "place": place, "applicants": applicants, "confirmed_local_benefit": True}

    # -- who may apply -------------------------------------------------------------

    def who_may_apply(self, account, measure) -> Eligibility:
        """The first rule that stops ``account`` applying for ``measure`` now, or allowed."""
        now = self.clock()
        site = measure.site
        if not site.is_public or not measure.is_visible_at(now):
            return Eligibility(False, "open", _("This measure is not open for applications."))
        if account is None or account.kind != "registrant" or account.disabled_at is not None:
            return Eligibility(False, "registrant", _(
                "Only people registered with the Furusato resident registration can apply. "
                "Sign in with your registrant account."))
        registration = self.dbsession.scalar(
            select(Registration).where(Registration.account_id == account.id,
                                       Registration.site_id == site.id,
                                       Registration.state == "active")
        )
        if registration is None:
            return Eligibility(False, "registration", _(
                "To apply, you need an active registration with ${site}. Register with "
                "${site} first.", mapping={"site": site.name}))
        refusal = self._tier_refusal(measure, registration, now)
        if refusal is not None:
            return refusal
        if measure.pays_money and self.budget_use([measure])[measure.id].remaining <= 0:
            return Eligibility(False, "budget", _(
                "The budget of this measure has been used up, so no more applications are "
                "accepted."), registration)
        return Eligibility(True, registration=registration)

    @staticmethod
    def _tier_refusal(measure, registration, now):
        if measure.applicants != "premium":
            return None
        mapping = {"site": measure.site.name}
        if registration.tier != "premium":
            message = (
                _("Support as for residents is for premium registrants only (プレミアム登録). "
                  "Your registration with ${site} is basic.", mapping=mapping)
                if family_group(measure.family) == "resident"
                else _("This measure is for premium registrants only (プレミアム登録). Your "
                       "registration with ${site} is basic.", mapping=mapping)
            )
            return Eligibility(False, "premium", message, registration)
        if registration.premium_until is None or registration.premium_until <= now:
            ended = to_tokyo(registration.premium_until or now).date().isoformat()
            return Eligibility(False, "premium_valid", _(
                "Your premium registration with ${site} ended on ${date}; this measure needs "
                "a valid premium registration. Renew it first.",
                mapping={**mapping, "date": ended}), registration)
        return None

    # -- applications --------------------------------------------------------------

    def payable(self, measure, costs, *, used_this_year=0) -> Payable:
        """The amount for raw cost lines, checked first (see ``checked_costs``)."""
        return compute_payable(measure, checked_costs(measure, costs),
                               used_this_year=used_this_year)

    def apply(self, account, measure, *, answers, costs, receipts=(),
              request_token=None) -> SupportApplication:
        """Submit an application; the amount is computed here and stored with its
        explanation. Receipts are required when the measure pays money.

        Idempotent: the form's ``request_token`` is stored with the application, so the
        same form sent again (a double click, a retry) returns the first application
        instead of a second one; and a person has at most one open application per
        measure (a partial unique index), so parallel requests store one row."""
        repeated = self.application_by_token(account, request_token)
        if repeated is not None:
            return repeated
        eligibility = self.who_may_apply(account, measure)
        if not eligibility.allowed:
            raise not_eligible(eligibility)
        waiting = self._open_application(account, measure)
        if waiting is not None:
            return self._same_form_or_refused(waiting, request_token)
        answers = checked_answers(measure.form_fields or (), answers)
        lines = checked_costs(measure, costs)
        files = checked_receipts(measure, receipts, self.settings.upload_max_bytes)
        now = self.clock()
        payable = compute_payable(measure, lines,
                                  used_this_year=self._used_this_year(account.id, measure, now))
        application = SupportApplication(
            measure_id=measure.id, site_id=measure.site_id,
            registration_id=eligibility.registration.id, account_id=account.id,
            state="submitted", tier=eligibility.registration.tier, answers=answers,
            costs=lines, submitted_amount=payable.amount, computation=payable.as_record(),
            submitted_at=now, request_token=request_token or None,
        )
        application.receipts = [SupportReceipt(uploaded_at=now, **f) for f in files]
        try:
            with self.dbsession.begin_nested():
                self.dbsession.add(application)
        except IntegrityError:
            # A parallel request with this form or for this measure committed first.
            return self._first_of_race(account, measure, request_token)
        return application

    def application_by_token(self, account, request_token):
        """The person's application sent with this form token, if any."""
        if not request_token:
            return None
        return self.dbsession.scalar(select(SupportApplication).where(
            SupportApplication.request_token == request_token,
            SupportApplication.account_id == account.id))

    def _open_application(self, account, measure):
        return self.dbsession.scalar(select(SupportApplication).where(
            SupportApplication.account_id == account.id,
            SupportApplication.measure_id == measure.id,
            SupportApplication.state == "submitted"))

    @staticmethod
    def _same_form_or_refused(waiting, request_token):
        """The open application when it came from this very form (a parallel copy of
        this request committed it meanwhile); a refusal otherwise."""
        if request_token and waiting.request_token == request_token:
            return waiting
        raise Conflict(_("You already have an application for this measure waiting for "
                         "a decision. You can apply again once it is decided."))

    def _first_of_race(self, account, measure, request_token):
        repeated = self.application_by_token(account, request_token)
        if repeated is not None:
            return repeated
        waiting = self._open_application(account, measure)
        if waiting is not None:
            return self._same_form_or_refused(waiting, request_token)
        raise Conflict(_("This form was already sent. Open the form again."))

    def applications_of(self, account) -> list:
        """A registrant's own applications, newest first."""
        return list(self.dbsession.scalars(
            select(SupportApplication)
            .options(joinedload(SupportApplication.measure).joinedload(SupportMeasure.site))
            .where(SupportApplication.account_id == account.id)
            .order_by(SupportApplication.submitted_at.desc(), SupportApplication.id.desc())
        ))

    def queue(self, site, *, state="submitted", measure_id=None, page=1) -> Page:
        """Applications of a site for coordinators: waiting ones oldest first, decided
        ones most recent first."""
        criteria = [SupportApplication.site_id == site.id]
        if state is not None:
            criteria.append(SupportApplication.state == state)
        if measure_id is not None:
            criteria.append(SupportApplication.measure_id == measure_id)
        order = ((SupportApplication.submitted_at, SupportApplication.id) if state == "submitted"
                 else (SupportApplication.id.desc(),))
        statement = (
            select(SupportApplication)
            .options(joinedload(SupportApplication.measure),
                     joinedload(SupportApplication.account),
                     selectinload(SupportApplication.receipts).load_only(
                         SupportReceipt.id, SupportReceipt.filename))
            .where(*criteria).order_by(*order)
        )
        return fetch_page(self.dbsession, statement, page=page, page_size=QUEUE_PAGE_SIZE,
                          counted=True)

    def record_queue_view(self, actor, site, rows):
        """Seeing applicants' names is a staff read of personal data."""
        self.audit.record(actor, "support.applications_view", site_id=site.id, rows=rows)

    def record_view(self, actor, application):
        self.audit.record(actor, "support.application_view", site_id=application.site_id,
                          target=application)

    def record_receipt_view(self, actor, receipt):
        application = receipt.application
        self.audit.record(actor, "support.receipt_view", site_id=application.site_id,
                          target=receipt, application_id=application.id)

    def preview_approval(self, application) -> ApprovalPreview:
        """The amount approving would give now, and the budget it would come from."""
        measure = application.measure
        payable = compute_payable(measure, application.costs or [], used_this_year=(
            self._used_this_year(application.account_id, measure, application.submitted_at)))
        return ApprovalPreview(payable, self.budget_use([measure])[measure.id])

    def approve(self, actor, application) -> SupportApplication:
        """Approve with the amount computed again; refused when it would overspend the
        budget, naming what remains. The measure's row is locked first."""
        self._lock(application)
        preview = self.preview_approval(application)
        if not preview.fits:
            raise NotAllowed(_(
                "Approving ${amount} yen would exceed the budget of this measure: only "
                "${remaining} yen of ${budget} yen remain.",
                mapping={"amount": yen(preview.payable.amount),
                         "remaining": yen(preview.budget.remaining),
                         "budget": yen(preview.budget.budget)}))
        application.state = "approved"
        application.approved_amount = preview.payable.amount
        application.approval_computation = preview.payable.as_record()
        self._decided(actor, application)
        self.audit.record(actor, "support.approve", site_id=application.site_id,
                          target=application, amount=application.approved_amount,
                          submitted_amount=application.submitted_amount)
        mapping = {"title": application.measure.title,
                   "amount": yen(application.approved_amount)}
        self._tell_applicant(
            application, _("Approved: ${title}", mapping=mapping),
            _("Your application for ${title} was approved: ${amount} yen. The payment "
              "follows.", mapping=mapping) if application.approved_amount
            else _("Your application for ${title} was approved.", mapping=mapping))
        return application

    def reject(self, actor, application, reason) -> SupportApplication:
        """Refuse with a reason the applicant sees."""
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInput(_("Write the reason; the applicant sees it."), field="reason")
        if len(reason) > REASON_MAX:
            raise InvalidInput(_("At most ${max} characters.", mapping={"max": REASON_MAX}),
                               field="reason")
        self._lock(application)
        application.state, application.reason = "rejected", reason
        self._decided(actor, application)
        self.audit.record(actor, "support.reject", site_id=application.site_id,
                          target=application)
        mapping = {"title": application.measure.title, "reason": reason}
        self._tell_applicant(
            application, _("Not approved: ${title}", mapping=mapping),
            _("Your application for ${title} was not approved. The reason: ${reason}",
              mapping=mapping))
        return application

    def mark_paid(self, actor, application) -> SupportApplication:
        """Record that the approved amount was paid out (支払済)."""
        self._lock(application, expected="approved")
        if not application.approved_amount:
            raise NotAllowed(_("Nothing is paid for this application: the approved amount "
                               "is 0 yen."))
        application.state, application.paid_at = "paid", self.clock()
        application.paid_by_id = actor.account_id
        self.dbsession.flush()
        self.audit.record(actor, "support.paid", site_id=application.site_id,
                          target=application, amount=application.approved_amount)
        mapping = {"title": application.measure.title,
                   "amount": yen(application.approved_amount)}
        self._tell_applicant(
            application, _("Paid: ${title}", mapping=mapping),
            _("${amount} yen for your application for ${title} has been paid.",
              mapping=mapping))
        return application

    def export_csv(self, actor, site, *, translate) -> bytes:
        """Approved and paid applications for the accounting system (UTF-8 with BOM):
        application id, measure, approved amount, approval and payment dates — no names,
        addresses or answers."""
        header = [translate(label) for label in (
            _("Application ID"), _("Measure ID"), _("Measure"), _("State"),
            _("Approved amount (yen)"), _("Approved on"), _("Paid on"))]
        rows = [
            [a.id, a.measure_id, a.measure.title, translate(APPLICATION_STATE_LABELS[a.state]),
             a.approved_amount, _tokyo_day(a.decided_at), _tokyo_day(a.paid_at)]
            for a in self.dbsession.scalars(
                select(SupportApplication)
                .options(joinedload(SupportApplication.measure))
                .where(SupportApplication.site_id == site.id,
                       SupportApplication.state.in_(HANDLED_STATES))
                .order_by(SupportApplication.decided_at, SupportApplication.id)
            )
        ]
        self.audit.record(actor, "support.export", site_id=site.id, rows=len(rows))
        return csv_bytes([header, *rows])

    # -- rules ---------------------------------------------------------------------

    def _used_this_year(self, account_id, measure, moment) -> int:
        """What the person already has approved for this measure in the fiscal year of
        ``moment``; only a per-person-year cap needs it."""
        if measure.cap_unit != "per_person_year":
            return 0
        start, end = fiscal_year_bounds(moment)
        return int(self.dbsession.scalar(
            select(func.coalesce(func.sum(SupportApplication.approved_amount), 0)).where(
                SupportApplication.account_id == account_id,
                SupportApplication.measure_id == measure.id,
                SupportApplication.state.in_(HANDLED_STATES),
                SupportApplication.submitted_at >= start,
                SupportApplication.submitted_at < end,
            )
        ))

    def _lock(self, application, expected="submitted"):
        """Lock the measure's row (a no-op on SQLite, where writes are serialised), then
        reload the application, so decisions and budget sums see the latest state."""
        self.dbsession.scalars(
            select(SupportMeasure).where(SupportMeasure.id == application.measure_id)
            .with_for_update().execution_options(populate_existing=True)
        ).one()
        self.dbsession.refresh(application)
        if application.state != expected:
            raise Conflict(_("This application is no longer waiting for this step: someone "
                             "has decided it already. Reload the page to see its state."))

    def _notices(self) -> NotificationService:
        return NotificationService(self.dbsession, clock=self.clock, settings=self.settings)

    def _tell_applicant(self, application, subject, body):
        self._notices().notify(
            [application.account_id], "application_result", application.measure.site,
            subject, body, "/my/support", key=f"support:{application.id}:{application.state}")

    def _decided(self, actor, application):
        application.decided_at = self.clock()
        application.decided_by_id = actor.account_id
        self.dbsession.flush()


def _terms_record(terms) -> dict:
    return {k: v for k, v in terms.items() if k != "form_fields"}


def _tokyo_day(moment) -> str:
    return to_tokyo(moment).date().isoformat() if moment else ""
