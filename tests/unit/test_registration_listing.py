"""RegistrationService.listing: what /my/ and the card read in one statement says what
registrations_of, verification_of and PolicyService.notices_to_accept say."""
import pytest

from furusato_cms.services.policies import PolicyService
from furusato_cms.services.registration import RegistrationService

from ..factories import MATSUMOTO, NAGANO_CITY, NAGANO_PREF, make_site
from ..registrant_factories import make_registrant
from ..registration_factories import make_verification
from ..statements import statements_during


@pytest.fixture
def services(dbsession, clock, app_settings):
    return (RegistrationService(dbsession, clock=clock, settings=app_settings),
            PolicyService(dbsession, clock=clock, settings=app_settings))


def test_nobody_registered_yet(dbsession, services):
    person = make_registrant(dbsession, "new@example.jp")
    listing = services[0].listing(person)
    assert listing.registrations == [] and listing.verification is None
    assert not listing.notices_due


def test_listing_agrees_with_the_separate_reads(dbsession, services):
    registrations, policies = services
    person = make_registrant(dbsession, "listed@example.jp", name="一覧 花子")
    pref = make_site(dbsession, NAGANO_PREF)
    city, matsumoto = make_site(dbsession, NAGANO_CITY), make_site(dbsession, MATSUMOTO)
    for site in (city, matsumoto):
        registrations.register(person, site, [4], ["birthplace"], {})
    dbsession.flush()
    registrations.leave(next(r for r in registrations.registrations_of(person)
                             if r.site.code == MATSUMOTO))
    make_verification(dbsession, person, NAGANO_CITY, name="本人 花子")
    dbsession.flush()

    statements = statements_during(dbsession.connection(),
                                   lambda: registrations.listing(person))
    assert len(statements) == 1
    listing = registrations.listing(person)
    full = registrations.registrations_of(person)
    def shown(r):
        return r.id, r.state, r.tier, r.site.code, r.site.name, r.at_home, r.registered_at

    assert [shown(r) for r in listing.registrations] == [shown(r) for r in full]
    assert [r.via for r in listing.registrations] == [
        r.derived_from.site.name if r.derived_from else None for r in full]
    assert "長野市" in [r.via for r in listing.registrations]
    assert [r.site.is_public for r in listing.registrations] == [r.site.is_public for r in full]
    verification = registrations.verification_of(person)
    assert (listing.verification.name, listing.verification.verified_at) == (
        verification.name, verification.verified_at)

    for site in (city, matsumoto, pref):
        policies.ensure_notice(site)
    dbsession.flush()
    assert registrations.listing(person).notices_due == bool(policies.notices_to_accept(person))
    assert registrations.listing(person).notices_due
    policies.accept_notices(person, [city, pref])
    dbsession.flush()
    assert policies.notices_to_accept(person) == []
    assert not registrations.listing(person).notices_due, "a left site's notice is not asked"
