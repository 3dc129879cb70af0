"""Test data for engagement: registrants with a registration, interests and follows."""
from furusato_cms.models import Registration, RegistrantInterest, SiteFollow

from .factories import T0
from .registrant_factories import make_registrant


def make_person(dbsession, email, site=None, *, tier="basic", relationship_types=(1,),
                state="active", at_home=False, interests=(), locale="ja", **kw):
    """A registrant with the given interests and, with ``site``, a registration there."""
    account = make_registrant(dbsession, email, locale=locale, **kw)
    if site is not None:
        register(dbsession, account, site, tier=tier, relationship_types=relationship_types,
                 state=state, at_home=at_home)
    for interest in interests:
        dbsession.add(RegistrantInterest(account_id=account.id, interest=interest))
    dbsession.flush()
    return account


def register(dbsession, account, site, *, tier="basic", relationship_types=(1,), state="active",
             at_home=False):
    registration = Registration(
        account_id=account.id, site_id=site.id, tier=tier, state=state, at_home=at_home,
        relationship_types=list(relationship_types), connections=[], registered_at=T0,
        state_changed_at=T0,
    )
    dbsession.add(registration)
    dbsession.flush()
    return registration


def follow(dbsession, account, site):
    dbsession.add(SiteFollow(account_id=account.id, site_id=site.id, created_at=T0))
    dbsession.flush()
