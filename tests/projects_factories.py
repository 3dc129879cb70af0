"""Test data for projects and partner organisations: partner staff, form values."""
from furusato_cms.models import StaffMembership

from .factories import T0, make_account


def make_partner_staff(dbsession, site, partner, email=None, **kw):
    """An account on the site's staff as staff of ``partner`` (関係団体の職員)."""
    account = make_account(dbsession, email or f"partner-{partner.id}@example.jp", **kw)
    dbsession.add(StaffMembership(site_id=site.id, account_id=account.id, role="partner",
                                  partner_id=partner.id, created_at=T0))
    dbsession.flush()
    return account


def project_values(**overrides) -> dict:
    """Keyword arguments for ProjectService.create with sensible defaults."""
    values = {"title": "りんご収穫の手伝い", "summary": "", "body": "畑で収穫を手伝います。",
              "field": "agriculture", "conditions": "", "questions": ()}
    values.update(overrides)
    return values
