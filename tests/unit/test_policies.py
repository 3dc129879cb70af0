"""Terms of use and privacy notices: versions kept, acceptance per person and version,
a new version asks again, and the one identity query tells whether terms are due."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from furusato_cms.models import Account, AuditEntry, PrivacyAcceptance, TermsVersion
from furusato_cms.policy_texts import DEFAULT_PRIVACY_NOTICE, DEFAULT_TERMS
from furusato_cms.services.errors import Conflict, InvalidInput
from furusato_cms.services.policies import PolicyService, terms_due
from furusato_cms.services.sites import SiteLifecycleService

from ..factories import MATSUMOTO, NAGANO_CITY, NAGANO_PREF, make_account, make_site
from ..registrant_factories import make_registrant
from ..sites_factories import actor_for, operator_actor
from ..survey_factories import make_registration


@pytest.fixture
def service(dbsession, clock, app_settings):
    return PolicyService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def operator(dbsession):
    return operator_actor(dbsession)[1]


def due_for(dbsession, account) -> bool:
    dbsession.flush()
    return bool(dbsession.scalar(select(terms_due(Account.id)).where(Account.id == account.id)))


def test_the_migration_seeds_the_template_terms(service):
    current = service.current_terms()
    assert current.version == 1 and current.body == DEFAULT_TERMS
    assert "ひな形" in current.body


def test_publishing_terms_makes_a_new_version_and_keeps_the_old(service, operator, clock,
                                                                dbsession):
    clock.moment += timedelta(days=1)
    second = service.publish_terms(operator, "# 利用規約\n\n第2版の本文")
    assert second.version == 2 and service.current_terms().version == 2
    assert service.terms_version(1).body == DEFAULT_TERMS
    assert [v.version for v in service.terms_history()] == [2, 1]
    entry = dbsession.scalars(select(AuditEntry).where(AuditEntry.action == "terms.publish")).one()
    assert entry.detail == {"version": 2} and entry.actor_id == operator.account_id


@pytest.mark.parametrize("body, words", [("  ", "Enter the text"),
                                         (DEFAULT_TERMS, "same as the current")])
def test_empty_or_unchanged_terms_are_refused(service, operator, body, words):
    with pytest.raises(InvalidInput, match=words):
        service.publish_terms(operator, body)
    assert service.current_terms().version == 1


def test_a_new_version_asks_again_and_history_is_kept(service, operator, dbsession, clock):
    person = make_registrant(dbsession, terms_accepted=False)
    assert due_for(dbsession, person)
    service.accept_terms(person, 1)
    assert not due_for(dbsession, person)
    service.publish_terms(operator, "第2版")
    assert due_for(dbsession, person)
    with pytest.raises(Conflict):
        service.accept_terms(person, 1)
    clock.moment += timedelta(hours=1)
    service.accept_terms(person, 2)
    assert not due_for(dbsession, person)
    assert [v for v, _at in service.terms_accepted_by(person)] == [2, 1]
    assert service.terms_accepted_by(person)[0][1] == clock.moment


def test_accepting_twice_keeps_one_row(service, dbsession):
    person = make_registrant(dbsession, terms_accepted=False)
    service.accept_terms(person)
    service.accept_terms(person)
    assert len(service.terms_accepted_by(person)) == 1


def test_approval_gives_a_site_the_template_notice(dbsession, clock, app_settings, operator,
                                                   service):
    site = make_site(dbsession, MATSUMOTO, state="applied", joined_on=None)
    SiteLifecycleService(dbsession, clock=clock, settings=app_settings).approve(
        operator, site, "admin@city.example.jp")
    notice = service.current_notice(site)
    assert (notice.version, notice.body) == (1, DEFAULT_PRIVACY_NOTICE)


def test_notices_accepted_at_registration_and_asked_again_when_changed(service, dbsession,
                                                                       clock):
    city, pref = make_site(dbsession, NAGANO_CITY), make_site(dbsession, NAGANO_PREF)
    for site in (city, pref):
        service.ensure_notice(site)
    person = make_registrant(dbsession)
    make_registration(dbsession, city, person)
    make_registration(dbsession, pref, person)
    assert [s.code for s, _n in service.notices_to_accept(person)] == [NAGANO_PREF, NAGANO_CITY]

    assert service.accept_notices(person, [city, pref]) == 2
    assert service.notices_to_accept(person) == []
    assert service.accept_notices(person, [city]) == 0

    admin = actor_for(make_account(dbsession, "admin@city.example.jp"))
    clock.moment += timedelta(days=3)
    second = service.publish_notice(admin, city, "## 第2版\n\n変更しました。")
    assert second.version == 2
    assert [(s.code, n.version) for s, n in service.notices_to_accept(person)] == [
        (NAGANO_CITY, 2)]
    assert service.notice_version(city, 1).body == DEFAULT_PRIVACY_NOTICE
    service.accept_notices(person, [city])
    accepted = dbsession.scalars(
        select(PrivacyAcceptance.notice_id).where(PrivacyAcceptance.account_id == person.id)
    ).all()
    assert len(accepted) == 3


def test_only_active_registrations_are_asked(service, dbsession):
    city = make_site(dbsession, NAGANO_CITY)
    service.ensure_notice(city)
    person = make_registrant(dbsession)
    make_registration(dbsession, city, person, state="left")
    assert service.notices_to_accept(person) == []


def test_a_site_without_a_notice_asks_nothing(service, dbsession):
    city = make_site(dbsession, NAGANO_CITY)
    person = make_registrant(dbsession)
    make_registration(dbsession, city, person)
    assert service.notices_to_accept(person) == []
    assert service.accept_notices(person, [city]) == 0


def test_no_terms_at_all_means_nothing_is_due(dbsession):
    person = make_registrant(dbsession, terms_accepted=False)
    dbsession.execute(TermsVersion.__table__.delete())
    assert not due_for(dbsession, person)
