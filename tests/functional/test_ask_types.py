"""Registrants whose type became unanswered (migration 0012) are asked again, once, on
their next visit, and can skip."""
import pytest
from sqlalchemy import select

from furusato_cms.models import Account, Registration

from ..factories import MATSUMOTO, NAGANO_CITY, make_site, sign_in
from ..notification_factories import register
from ..registrant_factories import make_registrant


@pytest.fixture
def flagged(testapp, dbsession, clock, app_settings):
    """A person with two unanswered registrations and one answered, flagged to be asked."""
    city, matsumoto = make_site(dbsession, NAGANO_CITY), make_site(dbsession, MATSUMOTO)
    account = make_registrant(dbsession, "roots-person@example.jp")
    unanswered = [register(dbsession, account, site, relationship_types=())
                  for site in (city, matsumoto)]
    account.ask_relationship_types = True
    dbsession.flush()
    sign_in(testapp, dbsession, account, clock, app_settings)
    return account, unanswered


def _flag(dbsession, account):
    dbsession.expire_all()
    return dbsession.scalar(select(Account.ask_relationship_types)
                            .where(Account.id == account.id))


def test_the_next_page_asks_once_and_answers_are_stored(testapp, dbsession, flagged):
    account, (city, matsumoto) = flagged
    page = f"/s/{NAGANO_CITY}/"
    asked = testapp.get(page)
    assert asked.status_int == 303
    assert asked.location.endswith(f"/my/types?came_from=/s/{NAGANO_CITY}/")
    question = asked.follow()
    assert "登録している地域との関わり方" in question.text
    assert "長野市" in question.text and "松本市" in question.text
    assert "類型③" in question.text
    assert _flag(dbsession, account) is False

    form = question.forms["deform"]
    first_three = next(box for box in form.fields["checkbox"] if box._value == "3")
    first_three.checked = True  # 長野市's group comes first
    saved = form.submit("save")
    assert saved.status_int == 303 and saved.location.endswith(page)
    dbsession.expire_all()
    types = {r.site_id: r.relationship_types for r in dbsession.scalars(
        select(Registration).where(Registration.account_id == account.id))}
    assert types == {city.site_id: [3], matsumoto.site_id: []}
    assert testapp.get(page).status_int == 200


def test_skipping_means_never_asked_again(testapp, dbsession, flagged):
    account, _registrations = flagged
    question = testapp.get("/my/").follow()
    assert "今はスキップする" in question.text
    assert _flag(dbsession, account) is False
    assert testapp.get("/my/").status_int == 200
    assert testapp.get(f"/s/{NAGANO_CITY}/").status_int == 200


def test_check_in_verification_and_the_card_are_never_interrupted(testapp, dbsession,
                                                                   flagged):
    account, _registrations = flagged
    for path in ("/checkin?t=x", "/my/identity", "/my/card", "/account"):
        response = testapp.get(path, expect_errors=True)
        assert "/my/types" not in (response.location or ""), path
    assert _flag(dbsession, account) is True
    assert "/my/types" in testapp.get("/my/").location


def test_people_not_flagged_go_where_they_asked(testapp, dbsession, clock, app_settings):
    make_site(dbsession, NAGANO_CITY)
    sign_in(testapp, dbsession, make_registrant(dbsession, "plain@example.jp"), clock,
            app_settings)
    assert testapp.get("/my/").status_int == 200
