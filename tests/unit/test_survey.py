"""The site's own survey questions: answering rules, the form fields, and management."""
from datetime import timedelta

import colander
import deform
import pytest
from sqlalchemy import select

from furusato_cms.models import SurveyAnswer
from furusato_cms.schemas.survey import answers_appstruct, question_nodes
from furusato_cms.services.survey import TEXT_ANSWER_MAX, SurveyService

from ..factories import MATSUMOTO, make_site
from ..survey_factories import make_answer, make_question, make_registration


@pytest.fixture
def site(dbsession):
    return make_site(dbsession)


@pytest.fixture
def service(dbsession, clock, app_settings):
    return SurveyService(dbsession, clock=clock, settings=app_settings)


def check(service, questions, **submitted):
    return service.check_answers(questions, submitted)


# -- active questions ---------------------------------------------------------


def test_active_questions_are_ordered_and_leave_out_retired_and_other_sites(
    dbsession, service, site, clock
):
    other = make_site(dbsession, MATSUMOTO)
    second = make_question(dbsession, site, "text", position=2)
    first = make_question(dbsession, site, "single", position=1)
    same_position = make_question(dbsession, site, "scale", position=2)
    make_question(dbsession, site, "text", position=0, retired_at=clock())
    make_question(dbsession, other, "text", position=0)

    assert service.active_questions(site) == [first, second, same_position]


# -- check_answers ------------------------------------------------------------


def test_answers_of_every_kind_become_stored_values(dbsession, service, site):
    single = make_question(dbsession, site, "single")
    multiple = make_question(dbsession, site, "multiple")
    text = make_question(dbsession, site, "text")
    scale = make_question(dbsession, site, "scale", scale_min=1, scale_max=5)

    result = check(service, [single, multiple, text, scale], **{
        f"q{single.id}": "grape",
        f"q{multiple.id}": ["peach", "apple"],
        f"q{text.id}": "  毎年りんご狩りに行きます  ",
        f"q{scale.id}": "4",
    })

    assert result.errors == {}
    assert result.answers == {
        single.id: {"choice": "grape"},
        multiple.id: {"choices": ["apple", "peach"]},  # in the question's order
        text.id: {"text": "毎年りんご狩りに行きます"},
        scale.id: {"scale": 4},
    }


def test_a_set_from_a_deform_appstruct_is_accepted(dbsession, service, site):
    multiple = make_question(dbsession, site, "multiple")
    result = check(service, [multiple], **{f"q{multiple.id}": {"grape"}})
    assert result.answers == {multiple.id: {"choices": ["grape"]}}


@pytest.mark.parametrize("kind, blank", [
    ("single", ""), ("multiple", []), ("text", "   "), ("scale", None),
])
def test_a_required_question_left_blank_is_refused(dbsession, service, site, kind, blank):
    question = make_question(dbsession, site, kind, required=True)
    result = check(service, [question], **{f"q{question.id}": blank})
    assert result.answers == {}
    assert list(result.errors) == [f"q{question.id}"]
    assert "answer" in result.errors[f"q{question.id}"].interpolate()


def test_an_optional_question_left_blank_stores_nothing(dbsession, service, site):
    question = make_question(dbsession, site, "text")
    result = check(service, [question])
    assert result.ok and result.answers == {}


def test_a_choice_not_among_the_keys_is_refused(dbsession, service, site):
    single = make_question(dbsession, site, "single")
    multiple = make_question(dbsession, site, "multiple")
    result = check(service, [single, multiple], **{
        f"q{single.id}": "banana", f"q{multiple.id}": ["apple", "banana"],
    })
    assert set(result.errors) == {f"q{single.id}", f"q{multiple.id}"}
    assert result.answers == {}


def test_a_single_choice_question_takes_one_value(dbsession, service, site):
    single = make_question(dbsession, site, "single")
    result = check(service, [single], **{f"q{single.id}": ["apple", "grape"]})
    assert f"q{single.id}" in result.errors


@pytest.mark.parametrize("raw, ok", [
    ("0", False), ("1", True), ("5", True), ("6", False), ("abc", False), ("2.5", False),
])
def test_scale_answers_must_be_whole_numbers_within_the_bounds(dbsession, service, site,
                                                                raw, ok):
    scale = make_question(dbsession, site, "scale", scale_min=1, scale_max=5)
    result = check(service, [scale], **{f"q{scale.id}": raw})
    assert result.ok is ok
    assert result.answers == ({scale.id: {"scale": int(raw)}} if ok else {})


def test_text_answers_are_limited_in_length(dbsession, service, site):
    text = make_question(dbsession, site, "text")
    longest = check(service, [text], **{f"q{text.id}": "あ" * TEXT_ANSWER_MAX})
    too_long = check(service, [text], **{f"q{text.id}": "あ" * (TEXT_ANSWER_MAX + 1)})
    assert longest.answers == {text.id: {"text": "あ" * TEXT_ANSWER_MAX}}
    assert too_long.answers == {} and f"q{text.id}" in too_long.errors


def _show_if_pair(dbsession, site):
    visits = make_question(dbsession, site, "multiple", label="好きな果物")
    detail = make_question(dbsession, site, "text", label="りんごの品種", required=True,
                           show_if=(visits, "apple"))
    return visits, detail


def test_a_show_if_question_is_required_when_its_condition_is_met(dbsession, service, site):
    visits, detail = _show_if_pair(dbsession, site)
    missing = check(service, [visits, detail], **{f"q{visits.id}": ["apple"]})
    answered = check(service, [visits, detail], **{
        f"q{visits.id}": ["apple", "peach"], f"q{detail.id}": "ふじ",
    })
    assert list(missing.errors) == [f"q{detail.id}"]
    assert answered.ok
    assert answered.answers[detail.id] == {"text": "ふじ"}


def test_a_hidden_show_if_question_is_neither_required_nor_stored(dbsession, service, site):
    visits, detail = _show_if_pair(dbsession, site)
    unanswered = check(service, [visits, detail])
    other_choice = check(service, [visits, detail], **{
        f"q{visits.id}": ["grape"], f"q{detail.id}": "ふじ",
    })
    assert unanswered.ok and unanswered.answers == {}
    assert other_choice.ok
    assert other_choice.answers == {visits.id: {"choices": ["grape"]}}


def test_a_hidden_question_is_not_checked_either(dbsession, service, site):
    visits = make_question(dbsession, site, "single")
    scale = make_question(dbsession, site, "scale", show_if=(visits, "apple"))
    result = check(service, [visits, scale], **{f"q{visits.id}": "grape",
                                                f"q{scale.id}": "99"})
    assert result.ok and scale.id not in result.answers


def test_a_show_if_on_a_question_not_asked_hides_the_question(dbsession, service, site, clock):
    visits = make_question(dbsession, site, "single", retired_at=clock())
    detail = make_question(dbsession, site, "text", required=True, show_if=(visits, "apple"))
    result = check(service, [detail], **{f"q{detail.id}": "ふじ"})
    assert result.ok and result.answers == {}


# -- save_answers ---------------------------------------------------------------


def _stored(dbsession, registration):
    rows = dbsession.scalars(
        select(SurveyAnswer).where(SurveyAnswer.registration_id == registration.id)
    )
    return {row.question_id: (row.value, row.answered_at) for row in rows}


def test_saving_inserts_then_updates_and_keeps_answers_not_given(dbsession, service, site,
                                                                 clock):
    registration = make_registration(dbsession, site)
    first = make_question(dbsession, site, "single")
    second = make_question(dbsession, site, "text")
    kept = make_question(dbsession, site, "scale", retired_at=clock())
    make_answer(dbsession, registration, kept, {"scale": 3})
    earlier = clock()
    service.save_answers(registration, {first.id: {"choice": "apple"},
                                        second.id: {"text": "はい"}}, now=earlier)
    later = earlier + timedelta(days=1)

    service.save_answers(registration, {first.id: {"choice": "peach"},
                                        second.id: {"text": "はい"}}, now=later)

    stored = _stored(dbsession, registration)
    assert stored[first.id][0] == {"choice": "peach"}
    assert stored[first.id][1].replace(tzinfo=None) == later.replace(tzinfo=None)
    assert stored[second.id][1].replace(tzinfo=None) == earlier.replace(tzinfo=None)
    assert stored[kept.id][0] == {"scale": 3}
    assert service.answers_of(registration) == {
        first.id: {"choice": "peach"}, second.id: {"text": "はい"}, kept.id: {"scale": 3},
    }


# -- form fields ----------------------------------------------------------------


def _render(questions, appstruct=None):
    schema = colander.Schema()
    for node in question_nodes(questions):
        schema.add(node)
    form = deform.Form(schema)
    return form, form.render(appstruct or {})


def test_one_field_per_question_named_after_it_without_scripts(dbsession, site):
    single = make_question(dbsession, site, "single", label="よく行く季節",
                           help_text="一つ選んでください")
    multiple = make_question(dbsession, site, "multiple")
    text = make_question(dbsession, site, "text")
    scale = make_question(dbsession, site, "scale", scale_min=1, scale_max=4)

    form, html = _render([single, multiple, text, scale])

    assert [field.name for field in form] == [f"q{q.id}" for q in (single, multiple, text,
                                                                     scale)]
    assert "<script" not in html
    assert "よく行く季節" in html and "一つ選んでください" in html
    assert f'value="q{single.id}:rename"' in html and 'type="radio"' in html
    assert 'type="checkbox"' in html and "ぶどう" in html
    assert "<textarea" in html and 'maxlength="2000"' in html
    assert [f'value="{n}"' in html for n in range(1, 5)] == [True] * 4
    assert "1 (lowest)" in html and "4 (highest)" in html


def test_fields_are_optional_so_the_service_decides(dbsession, site):
    required = make_question(dbsession, site, "single", required=True)
    form, _html = _render([required])
    assert form.validate([]) == {}


def test_a_show_if_field_says_when_to_answer_it(dbsession, site):
    visits, detail = _show_if_pair(dbsession, site)
    _form, html = _render([visits, detail])
    assert "Answer only if you chose “りんご” in “好きな果物”." in html


def test_stored_answers_prefill_the_fields(dbsession, site):
    single = make_question(dbsession, site, "single")
    multiple = make_question(dbsession, site, "multiple")
    scale = make_question(dbsession, site, "scale")
    appstruct = answers_appstruct(
        [single, multiple, scale],
        {single.id: {"choice": "peach"}, multiple.id: {"choices": ["apple", "grape"]},
         scale.id: {"scale": 2}},
    )
    _form, html = _render([single, multiple, scale], appstruct)
    assert html.count('checked="checked"') == 4
