"""Targeted posts: who a target reaches, the count before sending equals the people the
send writes to, and a post goes out once."""
import pytest
from sqlalchemy import event, select

from furusato_cms.models import (
    ContentTag,
    InboxMessage,
    NotificationPreference,
    OutboxMail,
    Unsubscribe,
)
from furusato_cms.services.audit import Actor
from furusato_cms.services.errors import Conflict, InvalidInput, NotAllowed
from furusato_cms.services.registration import RegistrationService
from furusato_cms.services.statistics import StatisticsService
from furusato_cms.services.targeting import TargetingService

from ..factories import MATSUMOTO, NAGANO_CITY, T0, make_post, make_site
from ..notification_factories import make_person
from ..registrant_factories import make_registrant

EDITOR = Actor(account_id=None, label="editor")


@pytest.fixture
def service(dbsession, clock, app_settings):
    return TargetingService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def city(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def post(dbsession, city):
    return make_post(dbsession, city, "apples", title="りんご収穫ボランティア募集",
                     summary="今年もりんごの収穫を手伝ってください。")


@pytest.fixture
def people(dbsession, city):
    """Registrants of the city in every situation a target must tell apart."""
    matsumoto = make_site(dbsession, MATSUMOTO)
    p = {
        "basic_farmer": make_person(dbsession, "basic-farmer@example.jp", city,
                                    interests=["agriculture"]),
        "premium_foodie": make_person(dbsession, "premium-foodie@example.jp", city,
                                      tier="premium", relationship_types=(2, 3),
                                      interests=["agriculture", "food"]),
        "dual_foodie": make_person(dbsession, "dual-foodie@example.jp", city,
                                    relationship_types=(4,), interests=["food"]),
        "no_interests": make_person(dbsession, "no-interests@example.jp", city),
        "at_home": make_person(dbsession, "at-home@example.jp", city, at_home=True,
                               interests=["agriculture"]),
        "left": make_person(dbsession, "left@example.jp", city, state="left",
                            interests=["agriculture"]),
        "released": make_person(dbsession, "released@example.jp", city, state="released",
                                interests=["agriculture"]),
        "elsewhere": make_person(dbsession, "elsewhere@example.jp", matsumoto,
                                 interests=["agriculture"]),
        "stopped_kind": make_person(dbsession, "stopped-kind@example.jp", city,
                                    interests=["agriculture"]),
        "stopped_site": make_person(dbsession, "stopped-site@example.jp", city,
                                    interests=["agriculture"]),
        "stopped_other_site": make_person(dbsession, "stopped-other@example.jp", city,
                                          interests=["agriculture"]),
        "both_off": make_person(dbsession, "both-off@example.jp", city,
                                interests=["agriculture"]),
        "inbox_only": make_person(dbsession, "inbox-only@example.jp", city,
                                  interests=["agriculture"]),
        "disabled": make_person(dbsession, "disabled@example.jp", city,
                                interests=["agriculture"], disabled_at=T0),
    }
    dbsession.add_all([
        Unsubscribe(account_id=p["stopped_kind"].id, site_id=city.id, kind="targeted_post",
                    created_at=T0),
        Unsubscribe(account_id=p["stopped_site"].id, site_id=city.id, kind="all", created_at=T0),
        Unsubscribe(account_id=p["stopped_other_site"].id, site_id=matsumoto.id, kind="all",
                    created_at=T0),
        Unsubscribe(account_id=p["dual_foodie"].id, site_id=city.id, kind="new_project",
                    created_at=T0),
        NotificationPreference(account_id=p["both_off"].id, site_id=city.id,
                               kind="targeted_post", email=False, inbox=False),
        NotificationPreference(account_id=p["inbox_only"].id, site_id=city.id,
                               kind="targeted_post", email=False, inbox=True),
    ])
    dbsession.flush()
    return p


REACHABLE = {"basic_farmer", "premium_foodie", "dual_foodie", "no_interests",
             "stopped_other_site", "inbox_only", "at_home"}
"""At home is reached: the guideline leaves at-home registrations out of statistics only."""
AGRICULTURE = {"basic_farmer", "premium_foodie", "stopped_other_site", "inbox_only", "at_home"}


@pytest.mark.parametrize("target, expected", [
    ({}, REACHABLE),
    ({"interests": ["agriculture"]}, AGRICULTURE),
    ({"interests": ["food"]}, {"premium_foodie", "dual_foodie"}),
    ({"interests": ["agriculture", "food"]}, AGRICULTURE | {"dual_foodie"}),
    ({"tiers": ["premium"]}, {"premium_foodie"}),
    ({"tiers": ["basic"], "interests": ["food"]}, {"dual_foodie"}),
    ({"relationship_types": [4]}, {"dual_foodie"}),
    ({"relationship_types": [1, 2], "interests": ["food"]}, {"premium_foodie"}),
    ({"relationship_types": [3]}, {"premium_foodie"}),
    ({"relationship_types": [3, 4]}, {"premium_foodie", "dual_foodie"}),
    ({"interests": ["snow_removal"]}, set()),
])
def test_the_count_before_sending_is_who_receives_it(dbsession, service, post, people,
                                                      target, expected):
    service.save_target(EDITOR, post, **target)
    reach = service.reach(post)

    campaign = service.send(EDITOR, post)

    inboxed = set(dbsession.scalars(
        select(InboxMessage.account_id).where(InboxMessage.campaign_id == campaign.id)))
    queued = set(dbsession.scalars(
        select(OutboxMail.account_id).where(OutboxMail.campaign_id == campaign.id)))
    names = {account.id: name for name, account in people.items()}
    assert {names[i] for i in inboxed} == expected
    assert {names[i] for i in queued} == expected - {"inbox_only"}
    assert reach.people == len(expected) == campaign.recipients
    assert reach.emails == len(queued) == campaign.emails


def test_the_inbox_message_is_the_post(dbsession, service, post, people):
    service.save_target(EDITOR, post, tiers=["premium"])
    service.send(EDITOR, post)
    message = dbsession.scalar(select(InboxMessage))
    assert (message.kind, message.subject, message.body, message.link) == (
        "targeted_post", "りんご収穫ボランティア募集", "今年もりんごの収穫を手伝ってください。",
        f"/s/{NAGANO_CITY}/posts/apples")
    assert message.read_at is None


def test_the_reach_is_one_count_query(dbsession, service, post, people):
    target = service.save_target(EDITOR, post, interests=["agriculture"],
                                 tiers=["basic", "premium"])
    dbsession.flush()
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(dbsession.connection(), "before_cursor_execute", listener)
    try:
        reach = service.reach(post, target)
    finally:
        event.remove(dbsession.connection(), "before_cursor_execute", listener)
    assert reach.people == len(AGRICULTURE)
    assert len(statements) == 1 and "count(" in statements[0].lower()


def test_a_post_is_sent_once(service, post, people):
    service.save_target(EDITOR, post)
    first = service.send(EDITOR, post)
    with pytest.raises(Conflict):
        service.send(EDITOR, post)
    assert service.campaign_of(post).id == first.id


def test_a_post_needs_a_saved_target_first(service, post, people):
    with pytest.raises(InvalidInput):
        service.send(EDITOR, post)


@pytest.mark.parametrize("changes", [{"state": "draft"}, {"publish_at": T0.replace(year=2027)}])
def test_only_a_post_shown_now_can_be_sent(dbsession, service, post, people, changes):
    for name, value in changes.items():
        setattr(post, name, value)
    dbsession.flush()
    service.save_target(EDITOR, post)
    with pytest.raises(NotAllowed):
        service.send(EDITOR, post)


def test_the_first_suggestion_is_the_posts_tags(dbsession, service, city):
    post = make_post(dbsession, city, "tagged")
    post.tag_rows.append(ContentTag(tag="food"))
    dbsession.flush()
    assert service.target_of(post).interests == ["food"]


@pytest.mark.parametrize("bad, field", [
    ({"tiers": ["gold"]}, "tiers"),
    ({"relationship_types": [5]}, "relationship_types"),
    ({"interests": ["gambling"]}, "interests"),
])
def test_unknown_target_values_are_refused(service, post, bad, field):
    with pytest.raises(InvalidInput) as refused:
        service.save_target(EDITOR, post, **bad)
    assert refused.value.field == field


def test_a_person_at_home_by_declared_postal_code_gets_the_post_but_is_not_counted(
        dbsession, service, post, city, clock, app_settings):
    """Rule: at-home registrations get the site's information; statistics leave them out."""
    person = make_registrant(dbsession, "lives-here@example.jp")
    registration = RegistrationService(dbsession, clock=clock, settings=app_settings).register(
        person, city, [2], ["tourism"], {}, postal_code="380-0851")
    assert registration.at_home is True
    service.save_target(EDITOR, post, relationship_types=[2])
    assert service.reach(post).people == 1
    campaign = service.send(EDITOR, post)
    assert dbsession.scalar(select(InboxMessage.account_id).where(
        InboxMessage.campaign_id == campaign.id)) == person.id
    figures = StatisticsService(dbsession, clock=clock, settings=app_settings).live_values(
        [city.id]).of(city.id)
    assert figures.value("people") == 0 and figures.value("at_home") == 1
    assert figures.keyed("relationship_type") == {}
