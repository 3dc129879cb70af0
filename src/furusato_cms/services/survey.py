"""A site's own survey questions (登録時アンケートの独自項目) and the answers to them.

The question engine is shared: registration asks the active questions today, and
monitor surveys will reuse ``check_answers`` / ``save_answers`` later.

Rules kept here (views and schemas only shape input):

- Kinds are single choice, multiple choice, free text and scale; the kind is fixed
  once a question exists, because answers are stored in the kind's shape.
- A question may be shown only when an *earlier* single/multiple-choice question's
  answer includes one choice (show-if, 条件付き表示). A hidden question is neither
  required nor stored, so the rule works without JavaScript: the form shows every
  question and says which ones to skip, and the server ignores what it should.
- Retiring a question hides it from new answers and keeps every old answer; answers
  are never deleted when questions change. For the same reason a choice that has
  answers cannot be removed (it can be relabelled), and the scale of an answered
  question cannot change.
"""
from dataclasses import dataclass, field

from sqlalchemy import select

from ..i18n import _
from ..models import SurveyAnswer, SurveyQuestion

TEXT_ANSWER_MAX = 2000
CHOICE_KINDS = ("single", "multiple")


@dataclass
class AnswerCheck:
    """What ``check_answers`` found: values ready to store, and messages per form field."""

    answers: dict = field(default_factory=dict)
    """question id -> stored value ({"choice": k} | {"choices": [k]} | {"text": s} | {"scale": n})."""
    errors: dict = field(default_factory=dict)
    """form field name (``q<id>``) -> TranslationString."""

    @property
    def ok(self) -> bool:
        return not self.errors


def field_name(question) -> str:
    """The form field of a question; registration and monitor forms both use it."""
    return f"q{question.id}"


def choice_keys(question) -> list:
    return [choice["key"] for choice in question.choices or ()]


def choice_label(question, key) -> str:
    """The label of a choice key; an unknown key (never expected) shows as itself."""
    for choice in question.choices or ():
        if choice["key"] == key:
            return choice["label"]
    return key


def chosen_keys(value) -> list:
    """The choice keys inside a stored answer value (empty for text and scale)."""
    if not value:
        return []
    if "choice" in value:
        return [value["choice"]]
    return list(value.get("choices", ()))


def is_shown(question, answers, known_ids) -> bool:
    """A show-if question is asked only when its earlier question's answer includes the
    choice. An unconditioned question is always asked. If the earlier question is not
    among the questions being asked (it cannot be answered), the condition cannot be met."""
    if question.show_if_question_id is None:
        return True
    if question.show_if_question_id not in known_ids:
        return False
    return question.show_if_choice in chosen_keys(answers.get(question.show_if_question_id))


class SurveyService:
    """Reading and answering a site's own questions; managing them (editors)."""

    def __init__(self, dbsession, *, clock, settings):
        self.dbsession = dbsession
        self.clock = clock
        self.settings = settings

    # -- answering -----------------------------------------------------------

    def active_questions(self, site) -> list:
        """The questions asked now, in the editors' order."""
        return list(
            self.dbsession.scalars(
                select(SurveyQuestion)
                .where(SurveyQuestion.site_id == site.id, SurveyQuestion.retired_at.is_(None))
                .order_by(SurveyQuestion.position, SurveyQuestion.id)
            )
        )

    def check_answers(self, questions, submitted: dict) -> AnswerCheck:
        """Turn raw form values (``q<id>`` -> str or list of str) into stored values.

        Questions are taken in the given order, so a show-if condition sees the
        answer to its earlier question. Values for hidden questions are ignored."""
        check = AnswerCheck()
        known_ids = {question.id for question in questions}
        for question in questions:
            if not is_shown(question, check.answers, known_ids):
                continue
            name = field_name(question)
            try:
                value = _parse(question, submitted.get(name))
            except _Refused as refused:
                check.errors[name] = refused.message
                continue
            if value is not None:
                check.answers[question.id] = value
            elif question.required:
                check.errors[name] = _("Please answer this question.")
        return check

    def answers_of(self, registration) -> dict:
        """question id -> stored value, for showing and editing earlier answers."""
        rows = self.dbsession.scalars(
            select(SurveyAnswer).where(SurveyAnswer.registration_id == registration.id)
        )
        return {row.question_id: row.value for row in rows}

    def save_answers(self, registration, answers: dict, *, now):
        """Insert or update one row per answered question. Answers to questions not
        in ``answers`` (retired, hidden now, skipped) stay as they were."""
        existing = {
            row.question_id: row
            for row in self.dbsession.scalars(
                select(SurveyAnswer).where(
                    SurveyAnswer.registration_id == registration.id,
                    SurveyAnswer.question_id.in_(list(answers)),
                )
            )
        }
        for question_id, value in answers.items():
            row = existing.get(question_id)
            if row is None:
                self.dbsession.add(
                    SurveyAnswer(registration_id=registration.id, question_id=question_id,
                                 value=value, answered_at=now)
                )
            elif row.value != value:
                row.value = value
                row.answered_at = now
        self.dbsession.flush()


class _Refused(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def _values(raw) -> list:
    """Form values as a list of non-empty stripped strings (one value, or repeated)."""
    if raw is None:
        return []
    if isinstance(raw, (str, int)):
        raw = [raw]
    return [str(item).strip() for item in raw if item is not None and str(item).strip()]


def _parse(question, raw):
    """The stored value for one question, None when unanswered; _Refused when invalid."""
    if question.kind == "text":
        text = raw.strip() if isinstance(raw, str) else ""
        if len(text) > TEXT_ANSWER_MAX:
            raise _Refused(
                _("At most ${max} characters.", mapping={"max": TEXT_ANSWER_MAX})
            )
        return {"text": text} if text else None
    values = _values(raw)
    if not values:
        return None
    if question.kind == "scale":
        return _parse_scale(question, values)
    keys = choice_keys(question)
    if any(value not in keys for value in values):
        raise _Refused(_("Choose from the options shown."))
    if question.kind == "single":
        if len(values) > 1:
            raise _Refused(_("Choose only one option."))
        return {"choice": values[0]}
    return {"choices": [key for key in keys if key in values]}


def _parse_scale(question, values):
    bounds = {"low": question.scale_min, "high": question.scale_max}
    out_of_range = _("Choose a number from ${low} to ${high}.", mapping=bounds)
    if len(values) > 1:
        raise _Refused(out_of_range)
    try:
        number = int(values[0])
    except ValueError:
        raise _Refused(out_of_range) from None
    if not question.scale_min <= number <= question.scale_max:
        raise _Refused(out_of_range)
    return {"scale": number}
