"""Projects, sessions and applications (担い手活動), without HTTP."""
import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from furusato_cms.models import (
    Account,
    ActivitySession,
    AuditEntry,
    ContentTransition,
    ContentVersion,
    InboxMessage,
    SessionApplication,
)
from furusato_cms.services.errors import Conflict, InvalidInput, NotAllowed
from furusato_cms.services.mail import localizer_for
from furusato_cms.services.notifications import NotificationService
from furusato_cms.services.projects import ProjectScope, ProjectService, checked_questions
from furusato_cms.services.session_applications import ApplicationService

from ..activity_factories import make_partner, make_project, make_session
from ..concurrency.support import needs_postgresql, run_at_once
from ..conftest import NOW
from ..content_factories import actor_for
from ..factories import NAGANO_CITY, make_site, make_staff
from ..notice_factories import only_notice
from ..notification_factories import make_person
from ..projects_factories import project_values
from ..registrant_factories import make_registrant

SITE_WIDE = ProjectScope(site_wide=True)
NEXT_WEEK = NOW + timedelta(days=7)


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def coordinator(dbsession, site):
    return actor_for(make_staff(dbsession, site, "coordinator"))


@pytest.fixture
def projects(dbsession, clock, app_settings):
    return ProjectService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def applications(dbsession, clock, app_settings):
    return ApplicationService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def session_of(dbsession, site):
    """A published project's session that needs an application, with a capacity."""
    made = []

    def make(capacity=2, questions=(), **kw):
        slug = f"apply-{len(made)}"
        project = make_project(dbsession, site, questions=list(questions), slug=slug)
        made.append(project)
        return make_session(dbsession, project, NEXT_WEEK, capacity=capacity,
                            application_required=True, **kw)
    return make


def people(dbsession, count, prefix="person", **kw):
    return [make_registrant(dbsession, f"{prefix}{i}@example.jp", name=f"参加 {i}郎", **kw)
            for i in range(count)]


def audit_actions(dbsession, action_prefix):
    return list(dbsession.scalars(
        select(AuditEntry.action).where(AuditEntry.action.like(action_prefix + "%"))
        .order_by(AuditEntry.id)
    ))


# -- creating projects: scope and designation --------------------------------------------

def test_site_project_is_designated_draft_with_its_field_as_tag(projects, coordinator, site,
                                                                 dbsession):
    project = projects.create(coordinator, site, SITE_WIDE, **project_values())
    assert (project.state, project.version, project.partner_id, project.designated) == (
        "draft", 1, None, True)
    assert project.tags == ["agriculture"]
    versions = dbsession.scalars(
        select(ContentVersion.number).where(ContentVersion.content_id == project.id)).all()
    assert versions == [1]
    assert audit_actions(dbsession, "project.") == ["project.create"]


@pytest.mark.parametrize("pattern, designated", [
    ("per_project", False), ("all_unless_excluded", True),
])
def test_partner_project_starts_from_the_partner_pattern(projects, coordinator, site, dbsession,
                                                         pattern, designated):
    partner = make_partner(dbsession, site, pattern=pattern)
    project = projects.create(coordinator, site, SITE_WIDE,
                              **project_values(partner_id=partner.id))
    assert (project.partner_id, project.designated) == (partner.id, designated)


def test_partner_staff_always_create_for_their_own_organisation(projects, site, dbsession):
    own = make_partner(dbsession, site, "中央町自治会")
    other = make_partner(dbsession, site, "北町NPO", kind="npo",
                         pattern="all_unless_excluded")
    actor = actor_for(make_staff(dbsession, site, "partner"))
    project = projects.create(actor, site, ProjectScope(site_wide=False, partner_id=own.id),
                              **project_values(partner_id=other.id))
    assert (project.partner_id, project.designated) == (own.id, False)
    own_project = projects.create(actor, site, ProjectScope(site_wide=False, partner_id=own.id),
                                  **project_values(partner_id=None))
    assert own_project.partner_id == own.id
    with pytest.raises(NotAllowed):
        projects.create(actor, site, ProjectScope(site_wide=False), **project_values())


def test_create_refuses_other_sites_and_retired_partners_and_unknown_fields(
        projects, coordinator, site, dbsession, clock):
    foreign = make_partner(dbsession, make_site(dbsession, "202029"))
    retired = make_partner(dbsession, site, "解散した会")
    retired.retired_at = clock()
    for partner in (foreign, retired):
        with pytest.raises(InvalidInput) as refused:
            projects.create(coordinator, site, SITE_WIDE,
                            **project_values(partner_id=partner.id))
        assert refused.value.field == "partner_id"
    with pytest.raises(InvalidInput) as refused:
        projects.create(coordinator, site, SITE_WIDE, **project_values(field="karaoke"))
    assert refused.value.field == "field"
    with pytest.raises(InvalidInput) as refused:
        projects.create(coordinator, site, SITE_WIDE, **project_values(title=" "))
    assert refused.value.field == "title"


def test_manage_list_is_limited_to_the_scope(projects, site, dbsession):
    own, other = make_partner(dbsession, site, "A会"), make_partner(dbsession, site, "B会")
    mine = make_project(dbsession, site, "自分の会の活動", partner=own)
    make_project(dbsession, site, "他の会の活動", partner=other)
    make_project(dbsession, site, "市の活動")
    assert projects.manage_list(site, SITE_WIDE).total == 3
    partner_view = projects.manage_list(site, ProjectScope(site_wide=False, partner_id=own.id))
    assert [p.id for p in partner_view.items] == [mine.id]
    assert projects.manage_list(site, ProjectScope(site_wide=False)).total == 0
    make_session(dbsession, mine, NOW - timedelta(days=1))
    make_session(dbsession, mine, NEXT_WEEK + timedelta(days=1))
    make_session(dbsession, mine, NEXT_WEEK).cancelled_at = NOW
    assert projects.session_summaries([mine.id]) == {
        mine.id: (3, NEXT_WEEK + timedelta(days=1))}


def test_designation_is_changed_by_the_site_and_audited(projects, coordinator, site, dbsession):
    partner = make_partner(dbsession, site, pattern="per_project")
    project = projects.create(coordinator, site, SITE_WIDE,
                              **project_values(partner_id=partner.id))
    projects.designate(coordinator, project, True)
    projects.designate(coordinator, project, True)
    assert project.designated is True
    projects.designate(coordinator, project, False)
    assert project.designated is False
    entries = dbsession.scalars(
        select(AuditEntry).where(AuditEntry.action == "project.designate")
        .order_by(AuditEntry.id)).all()
    assert [e.detail["designated"] for e in entries] == [True, False]


# -- the publishing workflow, shared with posts -------------------------------------------

def test_draft_is_invisible_until_published_through_the_posts_workflow(
        projects, coordinator, site, dbsession):
    project = projects.create(coordinator, site, SITE_WIDE, **project_values())
    assert projects.public_list(site).items == []
    projects.transition(coordinator, project, "review", may_publish=False)
    with pytest.raises(NotAllowed):
        projects.transition(coordinator, project, "published", may_publish=False)
    projects.transition(coordinator, project, "published", may_publish=True)
    assert [p.id for p in projects.public_list(site).items] == [project.id]
    steps = dbsession.scalars(
        select(ContentTransition.to_state).where(ContentTransition.content_id == project.id)
        .order_by(ContentTransition.id)).all()
    assert steps == ["review", "published"]
    projects.transition(coordinator, project, "archived", may_publish=False)
    assert projects.public_list(site).items == []


def test_publishing_tells_interested_followers_once(projects, coordinator, site, dbsession,
                                                    mail_catcher, app_settings):
    fan = make_person(dbsession, "fan@example.jp", site, interests=["agriculture"])
    other = make_person(dbsession, "other@example.jp", site, interests=["food"])
    project = projects.create(coordinator, site, SITE_WIDE, **project_values())
    mail_catcher.clear()
    projects.transition(coordinator, project, "review", may_publish=False)
    assert dbsession.scalar(select(func.count()).select_from(InboxMessage)) == 0

    projects.transition(coordinator, project, "published", may_publish=True)
    projects.transition(coordinator, project, "archived", may_publish=False)
    projects.transition(coordinator, project, "draft", may_publish=False)
    projects.transition(coordinator, project, "published", may_publish=True)

    message, mail = only_notice(dbsession, mail_catcher, fan, site, "new_project",
                                app_settings)
    assert message.subject == "【新しい募集】りんご収穫の手伝い"
    assert message.link == f"/s/{NAGANO_CITY}/projects/{project.id}"
    assert f"http://localhost/s/{NAGANO_CITY}/projects/{project.id}" in mail["text"]
    assert dbsession.scalar(select(func.count()).select_from(InboxMessage).where(
        InboxMessage.account_id == other.id)) == 0
    assert mail_catcher.messages(to=other.email) == []


def test_a_scheduled_project_is_announced_when_it_goes_public(
        projects, coordinator, site, dbsession, mail_catcher, app_settings):
    fan = make_person(dbsession, "fan@example.jp", site, interests=["agriculture"])
    project = projects.create(coordinator, site, SITE_WIDE, **project_values())
    project.publish_at = NOW + timedelta(hours=2)
    mail_catcher.clear()
    projects.transition(coordinator, project, "published", may_publish=True)
    notices = NotificationService(dbsession, clock=lambda: NOW, settings=app_settings)
    assert notices.scheduled_notices(NOW) == 0
    assert dbsession.scalar(select(func.count()).select_from(InboxMessage)) == 0

    later = NOW + timedelta(hours=3)
    assert notices.scheduled_notices(later) == 1
    assert notices.scheduled_notices(later) == 0
    message, _mail = only_notice(dbsession, mail_catcher, fan, site, "new_project",
                                 app_settings)
    assert message.link == f"/s/{NAGANO_CITY}/projects/{project.id}"


def test_long_public_projects_are_never_announced_late(projects, coordinator, site,
                                                       dbsession, app_settings):
    make_person(dbsession, "fan@example.jp", site, interests=["agriculture"])
    project = projects.create(coordinator, site, SITE_WIDE, **project_values())
    project.publish_at = NOW + timedelta(hours=2)
    projects.transition(coordinator, project, "published", may_publish=True)
    notices = NotificationService(dbsession, clock=lambda: NOW, settings=app_settings)
    assert notices.scheduled_notices(NOW + timedelta(days=8)) == 0


def test_update_saves_a_version_and_keeps_question_keys(projects, coordinator, site, dbsession):
    project = projects.create(coordinator, site, SITE_WIDE, **project_values(
        questions=[{"label": "アレルギー", "required": True}, {"label": "車の有無"}]))
    assert [(q["key"], q["required"]) for q in project.questions] == [("q1", True), ("q2", False)]
    projects.update(coordinator, project, expected_version=1, **project_values(
        title="りんご収穫（秋）", field="food", conditions="長靴を持参",
        questions=[{"label": "車の有無", "required": True}, {"label": "食事の希望"}]))
    assert (project.version, project.title, project.field, project.conditions) == (
        2, "りんご収穫（秋）", "food", "長靴を持参")
    assert project.questions == [{"key": "q2", "label": "車の有無", "required": True},
                                 {"key": "q3", "label": "食事の希望", "required": False}]
    assert project.tags == ["food"]
    with pytest.raises(Conflict):
        projects.update(coordinator, project, expected_version=1, **project_values())


def test_questions_are_checked():
    with pytest.raises(InvalidInput):
        checked_questions([{"label": "同じ"}, {"label": "同じ"}], ())
    with pytest.raises(InvalidInput):
        checked_questions([{"label": f"質問{i}"} for i in range(11)], ())
    with pytest.raises(InvalidInput):
        checked_questions([{"label": "長" * 201}], ())
    assert checked_questions([{"label": "  "}, {"label": " 年代 "}], ()) == [
        {"key": "q1", "label": "年代", "required": False}]


# -- sessions ---------------------------------------------------------------------------

def test_session_rules(projects, coordinator, site, dbsession):
    project = make_project(dbsession, site)
    base = {"starts_at": NEXT_WEEK, "ends_at": NEXT_WEEK + timedelta(hours=3)}
    for field, changes in [
        ("ends_at", {"ends_at": NEXT_WEEK}),
        ("ends_at", {"ends_at": NEXT_WEEK - timedelta(hours=1)}),
        ("starts_at", {"starts_at": None}),
        ("capacity", {"capacity": 0}),
        ("place", {"place": "あ" * 301}),
    ]:
        with pytest.raises(InvalidInput) as refused:
            projects.add_session(coordinator, project, **{**base, **changes})
        assert refused.value.field == field
    session = projects.add_session(coordinator, project, **base, place=" 中央  公民館 ",
                                   capacity=10, application_required=True)
    assert (session.place, session.capacity, session.site_id) == ("中央 公民館", 10, site.id)
    assert audit_actions(dbsession, "session.") == ["session.create"]


def test_session_changes_keep_people_with_a_place(projects, applications, coordinator,
                                                  dbsession, session_of):
    session = session_of(capacity=2)
    for person in people(dbsession, 3):
        applications.apply(person, session, {})
    times = {"starts_at": session.starts_at, "ends_at": session.ends_at}
    with pytest.raises(InvalidInput) as refused:
        projects.update_session(coordinator, session, **times, capacity=1,
                                application_required=True)
    assert refused.value.field == "capacity"
    with pytest.raises(InvalidInput):
        projects.update_session(coordinator, session, **times, capacity=None,
                                application_required=False)
    moved = projects.update_session(coordinator, session, **times, capacity=None,
                                    application_required=True)
    assert len(moved) == 1 and session.capacity is None
    assert projects.seats([session])[session.id].applied == 3


def test_cancelled_session_tells_applicants_and_stays_unchanged(
        projects, applications, coordinator, dbsession, session_of, mail_catcher):
    session = session_of(capacity=1)
    first, second = people(dbsession, 2, prefix="cancelled-session")
    applications.apply(first, session, {})
    applications.apply(second, session, {})
    mail_catcher.clear()
    assert projects.cancel_session(coordinator, session) == 2
    assert session.cancelled_at is not None
    for person in (first, second):
        [mail] = mail_catcher.messages(to=person.email)
        assert "中止" in mail["subject"] and "りんご収穫の手伝い" in mail["subject"]
    with pytest.raises(Conflict):
        projects.cancel_session(coordinator, session)
    with pytest.raises(NotAllowed):
        projects.update_session(coordinator, session, starts_at=session.starts_at,
                                ends_at=session.ends_at, capacity=5, application_required=True)
    with pytest.raises(NotAllowed):
        applications.apply(people(dbsession, 1, prefix="late")[0], session, {})


# -- applications -------------------------------------------------------------------------

def test_beyond_capacity_people_wait_in_line(applications, projects, dbsession, session_of):
    session = session_of(capacity=2)
    states = [applications.apply(p, session, {}).state for p in people(dbsession, 4)]
    assert states == ["applied", "applied", "waitlisted", "waitlisted"]
    seats = projects.seats([session])[session.id]
    assert (seats.applied, seats.waitlisted, seats.left) == (2, 2, 0)


def test_second_application_is_a_message_not_a_row(applications, dbsession, session_of):
    session = session_of(capacity=1)
    person, other = people(dbsession, 2)
    applications.apply(person, session, {})
    with pytest.raises(Conflict):
        applications.apply(person, session, {})
    applications.apply(other, session, {})
    with pytest.raises(Conflict) as refused:
        applications.apply(other, session, {})
    assert "キャンセル待ち" not in str(refused.value.message)
    count = dbsession.scalar(select(func.count()).select_from(SessionApplication)
                             .where(SessionApplication.session_id == session.id))
    assert count == 2


def test_only_registrants_apply_to_open_application_sessions(applications, dbsession, site,
                                                             session_of, clock):
    staff = make_staff(dbsession, site, "coordinator")
    person = people(dbsession, 1)[0]
    with pytest.raises(NotAllowed):
        applications.apply(staff, session_of(), {})
    project = make_project(dbsession, site, "自由参加")
    open_session = make_session(dbsession, project, NEXT_WEEK)
    with pytest.raises(NotAllowed):
        applications.apply(person, open_session, {})
    draft = make_project(dbsession, site, "下書き", state="draft")
    with pytest.raises(NotAllowed):
        applications.apply(person, make_session(dbsession, draft, NEXT_WEEK,
                                                application_required=True), {})
    past = make_session(dbsession, project, NOW - timedelta(days=1),
                        application_required=True)
    with pytest.raises(NotAllowed):
        applications.apply(person, past, {})
    site.state = "suspended"
    with pytest.raises(NotAllowed):
        applications.apply(person, session_of(), {})


def test_required_questions_must_be_answered(applications, dbsession, session_of):
    session = session_of(questions=[
        {"key": "q1", "label": "アレルギー", "required": True},
        {"key": "q2", "label": "車の有無", "required": False},
    ])
    person = people(dbsession, 1)[0]
    with pytest.raises(InvalidInput) as refused:
        applications.apply(person, session, {"q1": "  ", "q2": "あり"})
    assert refused.value.field == "q1"
    application = applications.apply(person, session,
                                     {"q1": " なし ", "q2": "", "extra": "無視される"})
    assert application.answers == {"q1": "なし", "q2": ""}


def test_cancel_moves_the_first_in_line_up_and_tells_them_in_their_language(
        applications, dbsession, session_of, clock, mail_catcher, site, app_settings):
    session = session_of(capacity=1)
    holder, later, earlier = people(dbsession, 3, prefix="line")
    earlier.locale = "en"
    applications.apply(holder, session, {})
    clock.advance(timedelta(minutes=1))
    waiting_later = applications.apply(later, session, {})
    waiting_earlier = applications.apply(earlier, session, {})
    waiting_earlier.applied_at = waiting_later.applied_at - timedelta(seconds=30)
    dbsession.flush()
    mail_catcher.clear()
    own = applications.applications_of(holder, [session])[session.id]
    moved = applications.cancel(own)
    assert [a.account_id for a in moved] == [earlier.id]
    assert (own.state, waiting_earlier.state, waiting_later.state) == (
        "cancelled", "applied", "waitlisted")
    message, mail = only_notice(dbsession, mail_catcher, earlier, site, "application_result",
                                app_settings)
    assert message.subject == "You have a place: りんご収穫の手伝い"
    assert message.link == f"/s/{NAGANO_CITY}/projects/{session.project_id}"
    assert f"http://localhost/s/{NAGANO_CITY}/projects/{session.project_id}" in mail["text"]
    assert "You have a place in this session:" in mail["text"]
    assert mail_catcher.messages(to=later.email) == []
    assert dbsession.scalar(select(func.count()).select_from(InboxMessage).where(
        InboxMessage.account_id.in_([later.id, holder.id]))) == 0
    with pytest.raises(Conflict):
        applications.cancel(own)


def test_leaving_the_waiting_list_moves_nobody_and_cancelled_people_can_apply_again(
        applications, dbsession, session_of, clock):
    session = session_of(capacity=1)
    holder, waiting = people(dbsession, 2)
    first = applications.apply(holder, session, {})
    second = applications.apply(waiting, session, {})
    assert applications.cancel(second) == []
    assert first.state == "applied"
    clock.advance(timedelta(minutes=5))
    again = applications.apply(waiting, session, {})
    assert (again.id, again.state, again.applied_at) == (second.id, "waitlisted", clock())


def test_cancel_is_refused_once_the_session_is_over(applications, dbsession, session_of, clock):
    session = session_of()
    application = applications.apply(people(dbsession, 1)[0], session, {})
    clock.advance(timedelta(days=8))
    with pytest.raises(NotAllowed):
        applications.cancel(application)


def test_applicants_and_their_csv_export(applications, coordinator, dbsession, session_of,
                                         app_settings):
    session = session_of(capacity=1, questions=[
        {"key": "q1", "label": "アレルギー", "required": False}])
    holder, waiting, gone = people(dbsession, 3, prefix="csv")
    holder.display_name = "=HYPERLINK(1)"
    applications.apply(holder, session, {"q1": "そば"})
    applications.apply(waiting, session, {"q1": ""})
    applications.cancel(applications.apply(gone, session, {}))
    rows = applications.applicants(session)
    assert [(a.state, account.email) for a, account in rows] == [
        ("applied", holder.email), ("waitlisted", waiting.email)]
    translate = localizer_for(app_settings, "ja").translate
    data = applications.export_applicants(coordinator, session, translate=translate)
    assert data.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0] == ["氏名", "メールアドレス", "状態", "申込日時（日本時間）", "アレルギー"]
    assert table[1] == ["'=HYPERLINK(1)", holder.email, "申込済み（参加確定）",
                        "2026-11-25 12:00", "そば"]
    assert table[2][1:3] == [waiting.email, "キャンセル待ち"]
    assert len(table) == 3
    entry = dbsession.scalars(
        select(AuditEntry).where(AuditEntry.action == "session.applicants_export")).one()
    assert (entry.actor_id, entry.target_id, entry.detail) == (
        coordinator.account_id, str(session.id), {"rows": 2})


# -- many people at once (PostgreSQL) ------------------------------------------------------

@needs_postgresql
def test_concurrent_applications_respect_capacity(own_database, clock, app_settings):
    """20 people apply to a session with 5 places at the same moment, each on their own
    connection: exactly 5 get a place and 15 wait, with committed data."""
    engine = own_database.engine
    with Session(engine) as setup:
        site = make_site(setup, "202037", with_intro=False)
        project = make_project(setup, site, "同時申込テスト")
        session_id = make_session(setup, project, NEXT_WEEK, capacity=5,
                                  application_required=True).id
        account_ids = [p.id for p in people(setup, 20, prefix="rush")]
        setup.commit()

    def apply_as(db, account_id):
        service = ApplicationService(db, clock=clock, settings=app_settings)
        service.apply(db.get(Account, account_id), db.get(ActivitySession, session_id), {})
        db.commit()

    _results, errors = run_at_once(engine, apply_as, account_ids, timeout=30)
    assert errors == []
    with engine.connect() as conn:
        states = dict(conn.execute(
            select(SessionApplication.state, func.count())
            .where(SessionApplication.session_id == session_id)
            .group_by(SessionApplication.state)
        ).all())
    assert states == {"applied": 5, "waitlisted": 15}
