"""Monitor surveys (モニターアンケート): building with the question engine, the target group,
one answer per person (service and database), closing, results and the CSV export."""
import csv
import io

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from furusato_cms.models import AuditEntry, MonitorResponse, Registration
from furusato_cms.services.errors import Conflict, InvalidInput, NotAllowed
from furusato_cms.services.monitor_surveys import MonitorSurveyService, target_text
from furusato_cms.services.registration import AnswersRefused

from ..community_factories import actor_for, make_member, make_monitor_survey
from ..factories import MATSUMOTO, NAGANO_CITY, T0, make_site, make_staff
from ..registrant_factories import make_registrant


@pytest.fixture
def site(dbsession):
    return make_site(dbsession, NAGANO_CITY)


@pytest.fixture
def service(dbsession, clock, app_settings):
    return MonitorSurveyService(dbsession, clock=clock, settings=app_settings)


@pytest.fixture
def editor(dbsession, site):
    return actor_for(make_staff(dbsession, site, "editor"))


def field(question):
    return f"q{question.id}"


def test_an_editor_builds_a_survey_with_the_question_engine_and_opens_it(service, site, editor):
    survey = service.create(editor, site, title=" 移住の  関心 ", description="ご協力ください",
                            target_tier="premium")
    assert (survey.title, survey.state) == ("移住の 関心", "draft")
    with pytest.raises(NotAllowed, match="at least one question"):
        service.open(editor, survey)
    season = service.add_question(editor, survey, kind="single", label="よく来る季節",
                                  choices="spring: 春\n夏", required=True)
    assert season.choices == [{"key": "spring", "label": "春"}, {"key": "c1", "label": "夏"}]
    why = service.add_question(editor, survey, kind="text", label="春の理由",
                               show_if=(season.id, "spring"))
    assert (why.show_if_question_id, why.show_if_choice) == (season.id, "spring")
    with pytest.raises(InvalidInput) as refused:
        service.add_question(editor, survey, kind="single", label="一つだけ", choices="はい")
    assert refused.value.field == "choices"
    with pytest.raises(InvalidInput):
        service.add_question(editor, survey, kind="text", label="条件違い", show_if=(why.id, "x"))
    with pytest.raises(NotAllowed, match="stay below"):
        service.move_question(editor, why, "up")
    with pytest.raises(Conflict, match="Change their condition first"):
        service.remove_question(editor, season)
    service.open(editor, survey)
    assert survey.state == "open" and survey.opened_at is not None
    for change in (lambda: service.add_question(editor, survey, kind="text", label="追加"),
                   lambda: service.update(editor, survey, title="変更"),
                   lambda: service.remove_question(editor, why)):
        with pytest.raises(NotAllowed, match="no longer be changed"):
            change()


def test_questions_move_and_are_removed_while_a_draft(service, site, editor):
    survey = service.create(editor, site, title="順番")
    first = service.add_question(editor, survey, kind="text", label="一")
    second = service.add_question(editor, survey, kind="scale", label="二", scale_min=1,
                                  scale_max=4)
    service.move_question(editor, second, "up")
    assert [q.label for q in survey.questions] == ["二", "一"]
    service.remove_question(editor, first)
    assert [(q.label, q.position) for q in survey.questions] == [("二", 0)]


def test_the_target_group_decides_who_answers(service, dbsession, site):
    survey = make_monitor_survey(dbsession, site, target_tier="premium",
                                 target_relationship_type=2)
    fits = make_member(dbsession, site, "fits@example.jp", tier="premium", relationship_types=(2,))
    basic = make_member(dbsession, site, "basic@example.jp", tier="basic", relationship_types=(2,))
    other_type = make_member(dbsession, site, "type1@example.jp", tier="premium")
    left = make_member(dbsession, site, "left@example.jp", tier="premium", relationship_types=(2,),
                       state="left")
    elsewhere = make_member(dbsession, make_site(dbsession, MATSUMOTO), "else@example.jp",
                            tier="premium", relationship_types=(2,))
    assert service.target_count(survey) == 1
    service.check_may_answer(fits, survey)
    for outsider in (basic, other_type, left, elsewhere):
        with pytest.raises(NotAllowed, match="does not include you"):
            service.check_may_answer(outsider, survey)
    assert [(s.id, answered) for s, _site, answered in service.open_for(fits)] == [
        (survey.id, False)]
    assert service.open_for(basic) == []
    assert "Premium" in target_text(survey, str) and "Type 2" in target_text(survey, str)


def test_a_type_target_reaches_anyone_who_chose_it_at_home_too(service, dbsession, site):
    """Types are "which apply": a person who chose ② and ④ is in a ④ survey's group; a
    registration at home gets the site's surveys (only statistics leave it out)."""
    survey = make_monitor_survey(dbsession, site, target_relationship_type=4)
    both = make_member(dbsession, site, "both@example.jp", relationship_types=(2, 4))
    dbsession.scalars(select(Registration).where(Registration.account_id == both.id)).one() \
        .at_home = True
    only_two = make_member(dbsession, site, "two@example.jp", relationship_types=(2,))
    dbsession.flush()
    assert service.target_count(survey) == 1
    service.check_may_answer(both, survey)
    with pytest.raises(NotAllowed):
        service.check_may_answer(only_two, survey)


def test_each_person_answers_once(service, dbsession, site):
    survey = make_monitor_survey(dbsession, site)
    person = make_member(dbsession, site, "once@example.jp")
    [question] = survey.questions
    response = service.submit(person, survey, {field(question): "c1"})
    assert response.answers == {str(question.id): {"choice": "c1"}}
    with pytest.raises(Conflict, match="already answered"):
        service.submit(person, survey, {field(question): "c2"})
    assert [(s.id, answered) for s, _site, answered in service.open_for(person)] == [
        (survey.id, True)]


def test_the_database_itself_refuses_a_second_response(dbsession, site):
    survey = make_monitor_survey(dbsession, site)
    person = make_member(dbsession, site, "twice@example.jp")
    row = {"survey_id": survey.id, "account_id": person.id, "answers": {}, "submitted_at": T0}
    dbsession.execute(insert(MonitorResponse), [row])
    with pytest.raises(IntegrityError):
        with dbsession.begin_nested():
            dbsession.execute(insert(MonitorResponse), [row])


def test_the_engine_checks_answers(service, dbsession, site):
    survey = make_monitor_survey(dbsession, site, questions=[
        ("single", "必須", ["はい", "いいえ"]), ("scale", "満足度", [])])
    survey.questions[0].required = True
    person = make_member(dbsession, site, "check@example.jp")
    required, scale = survey.questions
    with pytest.raises(AnswersRefused) as refused:
        service.submit(person, survey, {field(scale): "9"})
    assert set(refused.value.errors) == {field(required), field(scale)}
    assert not service.has_answered(person, survey)


def test_drafts_and_closed_surveys_take_no_answers(service, dbsession, site, editor):
    person = make_member(dbsession, site, "late@example.jp")
    draft = make_monitor_survey(dbsession, site, state="draft")
    with pytest.raises(NotAllowed, match="not open yet"):
        service.submit(person, draft, {})
    survey = make_monitor_survey(dbsession, site)
    service.close(editor, survey)
    with pytest.raises(NotAllowed, match="has closed"):
        service.submit(person, survey, {field(survey.questions[0]): "c1"})
    with pytest.raises(NotAllowed):
        service.close(editor, survey)
    actions = dbsession.scalars(select(AuditEntry.action)).all()
    assert "monitor_survey.close" in actions


def answered_survey(service, dbsession, site):
    survey = make_monitor_survey(dbsession, site, questions=[
        ("single", "来訪頻度", ["毎月", "毎年"]),
        ("multiple", "関心", ["農業", "観光", "祭り"]),
        ("scale", "満足度", []),
        ("text", "ひとこと", []),
    ])
    often, interests, score, note = survey.questions
    answers = [
        {field(often): "c1", field(interests): ["c1", "c2"], field(score): "5",
         field(note): "=HYPERLINK(\"http://evil.example\")"},
        {field(often): "c1", field(interests): ["c2"], field(score): "4"},
        {field(often): "c2"},
    ]
    for number, values in enumerate(answers):
        person = make_member(dbsession, site, f"r{number}@example.jp", name=f"回答者{number}")
        service.submit(person, survey, values)
    return survey


def test_results_count_each_option(service, dbsession, site):
    survey = answered_survey(service, dbsession, site)
    results = service.results(survey)
    assert results.responses == 3
    often, interests, score, note = results.questions
    assert [(b.label, b.count, b.percent) for b in often.bars] == [("毎月", 2, 67), ("毎年", 1, 33)]
    assert interests.answered == 2
    assert [(b.label, b.count, b.percent) for b in interests.bars] == [
        ("農業", 1, 50), ("観光", 2, 100), ("祭り", 0, 0)]
    assert [(b.label, b.count) for b in score.bars] == [
        ("1", 0), ("2", 0), ("3", 0), ("4", 1), ("5", 1)]
    assert note.bars == []


def test_the_csv_export_has_the_answers_and_nobody_s_identity(service, dbsession, site, editor):
    survey = answered_survey(service, dbsession, site)
    data = service.export_csv(editor, survey, translate=lambda s: s.interpolate())
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["No.", "Answered on", "来訪頻度", "関心", "満足度", "ひとこと"]
    assert rows[1] == ["1", "2026-11-25", "毎月", "農業 / 観光", "5",
                       "'=HYPERLINK(\"http://evil.example\")"]
    assert rows[3][:4] == ["3", "2026-11-25", "毎年", ""]
    assert "example.jp" not in text and "回答者" not in text
    [entry] = dbsession.scalars(select(AuditEntry).where(
        AuditEntry.action == "monitor_survey.export")).all()
    assert entry.detail == {"rows": 3}


def test_staff_and_people_without_registration_are_outside_every_target(service, dbsession,
                                                                         site):
    survey = make_monitor_survey(dbsession, site)
    with pytest.raises(NotAllowed):
        service.check_may_answer(make_registrant(dbsession, "nobody@example.jp"), survey)
