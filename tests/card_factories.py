"""Test data for the registration card: registrations with a tier, made directly."""
from datetime import datetime

from furusato_cms.models import Registration

from .factories import T0


def make_registration(dbsession, account, site, *, tier="basic",
                      premium_until: datetime | None = None, long_stay=False, **kw):
    """An active registration of ``account`` with ``site``; premium ones have a period."""
    registration = Registration(
        account_id=account.id, site_id=site.id, tier=tier, relationship_types=[1],
        connections=["birthplace"], registered_at=T0, state_changed_at=T0,
        premium_since=T0 if tier == "premium" else None, premium_until=premium_until,
        long_stay=long_stay, **kw,
    )
    dbsession.add(registration)
    dbsession.flush()
    return registration
