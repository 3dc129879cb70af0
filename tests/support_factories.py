"""Test data for support measures: measures, offers, registrations of either tier, and
receipt files of each kind."""
from datetime import timedelta

from furusato_cms.models import PartnerOffer, Registration, SupportMeasure

from .conftest import NOW
from .factories import T0
from .registrant_factories import make_registrant

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def make_measure(dbsession, site, title="移住体験の交通費補助", *, state="published",
                 family="travel", applicants="premium", rate=(3, 4), cap_yen=300_000,
                 cap_unit="per_application", budget_yen=1_000_000, form_fields=(), **kw):
    numerator, denominator = rate
    measure = SupportMeasure(
        site_id=site.id, slug=kw.pop("slug", None) or f"support-{title}-{site.id}",
        title=title, body=kw.pop("body", "交通費の一部を補助します。"), kind="life",
        state=state, family=family, applicants=applicants, rate_numerator=numerator,
        rate_denominator=denominator, cap_yen=cap_yen, cap_unit=cap_unit,
        budget_yen=budget_yen, form_fields=list(form_fields), confirmed_local_benefit=True,
        created_at=T0, updated_at=T0, published_at=T0 if state == "published" else None, **kw,
    )
    dbsession.add(measure)
    dbsession.flush()
    return measure


def make_offer(dbsession, site, title="そば処 松葉の割引", *, state="published", **kw):
    offer = PartnerOffer(
        site_id=site.id, slug=kw.pop("slug", None) or f"offer-{title}-{site.id}", title=title,
        summary=kw.pop("summary", "お会計から10%割引"), body="", kind="life", state=state,
        business_name=kw.pop("business_name", "そば処 松葉"),
        business_kind=kw.pop("business_kind", "restaurant"),
        place=kw.pop("place", "長野市大門町1番地"), applicants=kw.pop("applicants", "basic"),
        confirmed_local_benefit=True, created_at=T0, updated_at=T0,
        published_at=T0 if state == "published" else None, **kw,
    )
    dbsession.add(offer)
    dbsession.flush()
    return offer


def make_registration(dbsession, account, site, *, tier="basic", premium_until=None,
                      state="active"):
    """A registration of ``tier``; premium is valid for a year from NOW unless
    ``premium_until`` says otherwise."""
    if tier == "premium" and premium_until is None:
        premium_until = NOW + timedelta(days=365)
    registration = Registration(
        account_id=account.id, site_id=site.id, tier=tier, state=state, relationship_types=[1],
        connections=[], registered_at=T0, state_changed_at=T0,
        premium_since=T0 if tier == "premium" else None, premium_until=premium_until,
    )
    dbsession.add(registration)
    dbsession.flush()
    return registration


def make_applicant(dbsession, site, email="applicant@example.jp", *, tier="premium",
                   name="住民 太郎", **kw):
    """A registrant with a registration of ``tier`` at ``site``."""
    account = make_registrant(dbsession, email, name=name)
    make_registration(dbsession, account, site, tier=tier, **kw)
    return account
