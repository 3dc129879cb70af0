"""The site's own survey questions: answering rules, the form fields, and management."""
import csv
import io
from datetime import timedelta

import colander
import deform
import pytest
from sqlalchemy import event, select

from furusato_cms.models import AuditEntry, SurveyAnswer
from furusato_cms.schemas.survey import answers_appstruct, question_nodes
from furusato_cms.services.audit import Actor
from furusato_cms.services.errors import Conflict, InvalidInput, NotAllowed
from furusato_cms.services.mail import localizer_for
from furusato_cms.services.survey import TEXT_ANSWER_MAX, SurveyService, parse_choices

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
    assert stored[first.id][1] == later
    assert stored[second.id][1] == earlier
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


# -- managing questions -----------------------------------------------------------

EDITOR = Actor(account_id=None, label="editor@example.jp")


def create(service, site, kind="single", **fields):
    fields.setdefault("label", "好きな果物は？")
    if kind in ("single", "multiple"):
        fields.setdefault("choices", "りんご\nぶどう")
    return service.create_question(EDITOR, site, kind=kind, **fields)


def audit_actions(dbsession):
    return [e.action for e in dbsession.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_a_new_question_goes_last_with_generated_keys_and_is_audited(dbsession, service, site):
    first = make_question(dbsession, site, "text", position=5)

    question = create(service, site, "multiple", label="  行ったことのある場所 ",
                      help_text="いくつでも", choices="a: 駅前\n\n城址公園\nc1: 温泉",
                      required=True)

    assert question.position == 6 and question.label == "行ったことのある場所"
    assert question.choices == [{"key": "a", "label": "駅前"}, {"key": "c2", "label": "城址公園"},
                                {"key": "c1", "label": "温泉"}]
    assert question.required and question.help_text == "いくつでも"
    assert service.active_questions(site) == [first, question]
    assert audit_actions(dbsession) == ["survey.create"]


def test_choice_lines_take_full_width_colons_and_leave_times_alone():
    choices = parse_choices("Am：午前中\n10:00から\nx-1: その他")
    assert [(c["key"], c["label"]) for c in choices] == [
        ("am", "午前中"), ("c1", "10:00から"), ("x-1", "その他")]


def test_a_scale_question_keeps_its_bounds_and_no_choices(service, site):
    question = create(service, site, "scale", scale_min=1, scale_max=10, choices="a\nb")
    assert (question.scale_min, question.scale_max, question.choices) == (1, 10, [])


@pytest.mark.parametrize("kind, fields, field", [
    ("single", {"label": "   "}, "label"),
    ("text", {"label": "あ" * 301}, "label"),
    ("single", {"choices": "りんご"}, "choices"),
    ("multiple", {"choices": "\n\n"}, "choices"),
    ("single", {"choices": "a: りんご\na: ぶどう"}, "choices"),
    ("single", {"choices": "りんご\nりんご"}, "choices"),
    ("single", {"choices": "a: りんご\nb:"}, "choices"),
    ("scale", {"scale_min": 0, "scale_max": 5}, "scale_max"),
    ("scale", {"scale_min": 1, "scale_max": 11}, "scale_max"),
    ("scale", {"scale_min": 5, "scale_max": 5}, "scale_max"),
    ("essay", {}, "kind"),
])
def test_bad_questions_are_refused_with_a_field_message(dbsession, service, site, kind,
                                                        fields, field):
    with pytest.raises(InvalidInput) as refused:
        create(service, site, kind, **fields)
    assert refused.value.field == field
    assert service.all_questions(site) == [] and audit_actions(dbsession) == []


def test_show_if_points_at_an_earlier_active_choice_question(dbsession, service, site):
    fruit = make_question(dbsession, site, "multiple")
    question = create(service, site, "text", show_if=(fruit.id, "grape"))
    assert (question.show_if_question_id, question.show_if_choice) == (fruit.id, "grape")


@pytest.mark.parametrize("target", ["text", "scale", "retired", "other_site"])
def test_show_if_on_a_question_that_cannot_decide_is_refused(dbsession, service, site, clock,
                                                              target):
    where = make_site(dbsession, MATSUMOTO) if target == "other_site" else site
    kind = target if target in ("text", "scale") else "single"
    condition = make_question(dbsession, where, kind,
                              retired_at=clock() if target == "retired" else None)
    with pytest.raises(InvalidInput) as refused:
        create(service, site, "text", show_if=(condition.id, "apple"))
    assert refused.value.field == "show_if"


def test_show_if_on_an_unknown_choice_or_a_later_question_is_refused(dbsession, service, site):
    fruit = make_question(dbsession, site, "single")
    with pytest.raises(InvalidInput):
        create(service, site, "text", show_if=(fruit.id, "banana"))
    earlier = make_question(dbsession, site, "text", position=0)
    fruit.position = 1
    dbsession.flush()
    with pytest.raises(InvalidInput) as refused:
        service.update_question(EDITOR, earlier, label="x", show_if=(fruit.id, "apple"))
    assert refused.value.field == "show_if"


def test_editing_relabels_choices_and_keeps_answers(dbsession, service, site):
    fruit = make_question(dbsession, site, "single")
    registration = make_registration(dbsession, site)
    make_answer(dbsession, registration, fruit, {"choice": "apple"})

    service.update_question(EDITOR, fruit, label="一番好きな果物", help_text="",
                            choices="apple: 青森のりんご\nぶどう\nもも\n梨", required=True)

    assert fruit.label == "一番好きな果物" and fruit.required
    assert [(c["key"], c["label"]) for c in fruit.choices] == [
        ("apple", "青森のりんご"), ("grape", "ぶどう"), ("peach", "もも"), ("c1", "梨")]
    assert service.answers_of(registration) == {fruit.id: {"choice": "apple"}}
    assert audit_actions(dbsession) == ["survey.update"]


def test_an_answered_choice_cannot_be_removed_but_an_unanswered_one_can(dbsession, service,
                                                                       site):
    fruit = make_question(dbsession, site, "multiple")
    make_answer(dbsession, make_registration(dbsession, site), fruit, {"choices": ["grape"]})

    with pytest.raises(Conflict) as refused:
        service.update_question(EDITOR, fruit, label="果物", choices="りんご\nもも")
    assert refused.value.field == "choices"
    assert "ぶどう" in refused.value.message.interpolate()

    service.update_question(EDITOR, fruit, label="果物", choices="りんご\nぶどう")
    assert [c["key"] for c in fruit.choices] == ["apple", "grape"]


def test_a_choice_another_question_depends_on_cannot_be_removed(dbsession, service, site):
    fruit = make_question(dbsession, site, "single")
    make_question(dbsession, site, "text", label="品種", show_if=(fruit, "peach"))
    with pytest.raises(Conflict) as refused:
        service.update_question(EDITOR, fruit, label="果物", choices="りんご\nぶどう")
    assert "品種" in refused.value.message.interpolate()


def test_an_answered_scale_keeps_its_range(dbsession, service, site):
    scale = make_question(dbsession, site, "scale")
    unanswered = make_question(dbsession, site, "scale")
    make_answer(dbsession, make_registration(dbsession, site), scale, {"scale": 2})

    with pytest.raises(Conflict):
        service.update_question(EDITOR, scale, label="満足度", scale_min=1, scale_max=10)
    service.update_question(EDITOR, scale, label="満足度", scale_min=1, scale_max=5)
    service.update_question(EDITOR, unanswered, label="期待度", scale_min=1, scale_max=10)

    assert scale.label == "満足度" and unanswered.scale_max == 10


def test_a_retired_question_keeps_its_condition_when_edited(dbsession, service, site, clock):
    fruit = make_question(dbsession, site, "single", retired_at=clock())
    detail = make_question(dbsession, site, "text", show_if=(fruit, "apple"),
                           retired_at=clock())
    service.update_question(EDITOR, detail, label="品種を教えてください",
                            show_if=(fruit.id, "apple"))
    assert detail.show_if_question_id == fruit.id


def test_show_if_options_are_earlier_active_choice_questions_plus_the_current_one(
    dbsession, service, site, clock
):
    fruit = make_question(dbsession, site, "single")
    make_question(dbsession, site, "text")
    old = make_question(dbsession, site, "multiple", retired_at=clock())
    season = make_question(dbsession, site, "multiple")
    detail = make_question(dbsession, site, "text", show_if=(old, "apple"), retired_at=clock())
    assert service.show_if_options(site) == [fruit, season]
    assert service.show_if_options(site, before=season) == [fruit]
    assert service.show_if_options(site, before=detail) == [old, fruit, season]


def test_moving_swaps_neighbours_and_changes_the_asked_order(dbsession, service, site):
    a, b, c = (make_question(dbsession, site, "text", label=n) for n in "abc")

    service.move(EDITOR, c, "up")
    assert service.active_questions(site) == [a, c, b]
    service.move(EDITOR, a, "down")
    assert service.active_questions(site) == [c, a, b]
    assert [q.position for q in (c, a, b)] == [0, 1, 2]
    assert audit_actions(dbsession) == ["survey.move", "survey.move"]

    with pytest.raises(NotAllowed):
        service.move(EDITOR, c, "up")
    with pytest.raises(NotAllowed):
        service.move(EDITOR, b, "down")


def test_a_show_if_question_cannot_move_above_its_condition(dbsession, service, site):
    fruit = make_question(dbsession, site, "single")
    detail = make_question(dbsession, site, "text", show_if=(fruit, "apple"))
    with pytest.raises(NotAllowed):
        service.move(EDITOR, detail, "up")
    with pytest.raises(NotAllowed):
        service.move(EDITOR, fruit, "down")
    assert service.active_questions(site) == [fruit, detail]


def test_retiring_hides_the_question_and_keeps_its_answers(dbsession, service, site, clock):
    fruit = make_question(dbsession, site, "single")
    registration = make_registration(dbsession, site)
    make_answer(dbsession, registration, fruit, {"choice": "peach"})

    service.retire(EDITOR, fruit)

    assert fruit.retired_at == clock()
    assert service.active_questions(site) == []
    assert service.all_questions(site) == [fruit]
    assert service.answers_of(registration) == {fruit.id: {"choice": "peach"}}
    with pytest.raises(NotAllowed):
        service.retire(EDITOR, fruit)

    service.restore(EDITOR, fruit)
    assert service.active_questions(site) == [fruit] and fruit.retired_at is None
    assert audit_actions(dbsession) == ["survey.retire", "survey.restore"]
    with pytest.raises(NotAllowed):
        service.restore(EDITOR, fruit)


def test_a_condition_for_active_questions_cannot_be_retired(dbsession, service, site):
    fruit = make_question(dbsession, site, "single")
    make_question(dbsession, site, "text", label="品種", show_if=(fruit, "apple"))
    with pytest.raises(NotAllowed) as refused:
        service.retire(EDITOR, fruit)
    assert "品種" in refused.value.message.interpolate()
    assert fruit.retired_at is None


def test_a_question_cannot_be_restored_before_its_condition(dbsession, service, site, clock):
    fruit = make_question(dbsession, site, "single", retired_at=clock())
    detail = make_question(dbsession, site, "text", show_if=(fruit, "apple"),
                           retired_at=clock())
    with pytest.raises(NotAllowed):
        service.restore(EDITOR, detail)
    service.restore(EDITOR, fruit)
    service.restore(EDITOR, detail)
    assert service.active_questions(site) == [fruit, detail]


def test_answer_counts_per_question(dbsession, service, site):
    fruit = make_question(dbsession, site, "single")
    text = make_question(dbsession, site, "text")
    for n in range(3):
        make_answer(dbsession, make_registration(dbsession, site), fruit, {"choice": "apple"})
    assert service.answer_counts(site) == {fruit.id: 3}
    assert text.id not in service.answer_counts(site)


# -- export -----------------------------------------------------------------------


@pytest.fixture
def ja(app_settings):
    return localizer_for(app_settings, "ja").translate


def _exported(service, site, translate):
    data = service.export_answers(EDITOR, site, translate=translate)
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_export_has_one_row_per_active_registration_with_labels(dbsession, service, site,
                                                                   clock, ja):
    other = make_site(dbsession, MATSUMOTO)
    fruit = make_question(dbsession, site, "multiple", label="好きな果物")
    scale = make_question(dbsession, site, "scale", label="満足度")
    old = make_question(dbsession, site, "text", label="昔の質問", retired_at=clock())
    first = make_registration(dbsession, site, connections=["birthplace", "tourism"],
                              relationship_types=[4], registered_at=clock())
    second = make_registration(dbsession, site, tier="premium")
    make_registration(dbsession, site, state="left")
    make_registration(dbsession, other)
    make_answer(dbsession, first, fruit, {"choices": ["apple", "peach"]})
    make_answer(dbsession, first, scale, {"scale": 4})
    make_answer(dbsession, first, old, {"text": "=HYPERLINK(\"http://evil\")"})
    make_answer(dbsession, second, scale, {"scale": 1})

    header, *rows = _exported(service, site, ja)

    assert header == ["登録番号", "登録日時（日本時間）", "登録区分", "類型", "つながり",
                      "好きな果物", "満足度", "昔の質問（使用終了）"]
    assert [row[0] for row in rows] == [str(first.id), str(second.id)]
    assert rows[0][1] == "2026-11-25 12:00"
    assert rows[0][2] == "ベーシック" and rows[1][2] == "プレミアム"
    assert rows[0][3].startswith("類型④")
    assert rows[0][4] == "出身地 / 観光・訪問"
    assert rows[0][5:] == ["りんご / もも", "4", "'=HYPERLINK(\"http://evil\")"]
    assert rows[1][5:] == ["", "1", ""]
    text = "\n".join(",".join(row) for row in rows)
    assert "@example.jp" not in text and "登録 太郎" not in text


def test_the_export_is_audited(dbsession, service, site):
    make_registration(dbsession, site)
    service.export_answers(EDITOR, site, translate=str)
    entry = dbsession.scalar(select(AuditEntry).where(AuditEntry.action == "survey.export"))
    assert entry.site_id == site.id and entry.detail == {"rows": 1}


def test_the_export_takes_the_same_number_of_queries_for_any_number_of_rows(
    dbsession, service, site, connection
):
    questions = [make_question(dbsession, site, kind) for kind in ("single", "text")]

    def queries_for_export():
        dbsession.expire_all()
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(connection, "before_cursor_execute", listener)
        try:
            service.export_answers(EDITOR, site, translate=str)
            dbsession.flush()
        finally:
            event.remove(connection, "before_cursor_execute", listener)
        return len(statements)

    def add_people(count):
        for _n in range(count):
            registration = make_registration(dbsession, site)
            make_answer(dbsession, registration, questions[0], {"choice": "apple"})
            make_answer(dbsession, registration, questions[1], {"text": "はい"})

    add_people(1)
    few = queries_for_export()
    add_people(5)
    assert queries_for_export() == few
