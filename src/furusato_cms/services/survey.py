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
import re
from dataclasses import dataclass, field

from sqlalchemy import func, select

from ..clock import to_tokyo
from ..i18n import _
from ..models import Registration, SurveyAnswer, SurveyQuestion
from ..models.survey import QUESTION_KINDS
from ..spreadsheet import csv_bytes
from ..vocabulary import CONNECTIONS, RELATIONSHIP_TYPES, TIER_LABELS
from .audit import AuditLog
from .errors import Conflict, InvalidInput, NotAllowed

TEXT_ANSWER_MAX = 2000
CHOICE_KINDS = ("single", "multiple")
LABEL_MAX = 300
HELP_MAX = 2000
CHOICE_LABEL_MAX = 200
CHOICES_MAX = 50
SCALE_LOWEST, SCALE_HIGHEST = 1, 10
KIND_LABELS = {
    "single": _("Single choice"),
    "multiple": _("Multiple choice"),
    "text": _("Free text"),
    "scale": _("Scale"),
}
CHOICE_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9_-]{0,29})\s*[:：]\s*(.*)$")
"""``key: label`` (a colon typed in full width too). A key starts with a letter, so a
label such as "10:00から" stays a label."""


@dataclass
class AnswerCheck:
    """What ``check_answers`` found: values ready to store, and messages per form field."""

    answers: dict = field(default_factory=dict)
    """question id -> stored value: {"choice": key} | {"choices": [keys]} | {"text": str}
    | {"scale": int}."""
    errors: dict = field(default_factory=dict)
    """form field name (``q<id>``) -> TranslationString."""

    @property
    def ok(self) -> bool:
        return not self.errors


def field_name(question) -> str:
    """The form field of a question; registration and monitor forms both use it."""
    return f"q{question.id}"


def choice_keys(question) -> list:
    return choice_keys_of(question.choices or ())


def choice_keys_of(choices) -> list:
    return [choice["key"] for choice in choices]


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

    # -- managing (editors) ----------------------------------------------------

    def all_questions(self, site) -> list:
        """Every question of the site in order, retired ones too (they keep answers)."""
        return self._questions_of_site(site.id)

    def answer_counts(self, site) -> dict:
        """question id -> number of stored answers, in one query."""
        rows = self.dbsession.execute(
            select(SurveyAnswer.question_id, func.count())
            .join(SurveyQuestion, SurveyQuestion.id == SurveyAnswer.question_id)
            .where(SurveyQuestion.site_id == site.id)
            .group_by(SurveyAnswer.question_id)
        )
        return dict(rows.all())

    def show_if_options(self, site, before=None) -> list:
        """The questions a show-if may point at: active single/multiple-choice questions
        earlier than ``before`` (all of them for a new question, which goes last), and
        the condition ``before`` has now, so editing never drops it unseen."""
        options = self._choice_questions_before(site.id, before)
        current_id = before.show_if_question_id if before is not None else None
        if current_id is not None and all(q.id != current_id for q in options):
            options.insert(0, self.dbsession.get(SurveyQuestion, current_id))
        return options

    def create_question(self, actor, site, *, kind, label, help_text="", choices="",
                        scale_min=1, scale_max=5, required=False, show_if=None):
        """A new question goes to the end of the list. ``choices``: one option per line,
        ``key: label`` or just the label. ``show_if``: (question id, choice key) or None."""
        if kind not in QUESTION_KINDS:
            raise InvalidInput(_("Choose a kind of question from the list."), field="kind")
        question = SurveyQuestion(site_id=site.id, kind=kind, created_at=self.clock())
        new = checked(kind, label=label, help_text=help_text, choices=choices,
                       scale_min=scale_min, scale_max=scale_max, existing=())
        self.assign(question, new, required=required,
                    show_if=self.checked_show_if(show_if, self.show_if_options(site)))
        last = self.dbsession.scalar(
            select(func.max(SurveyQuestion.position)).where(SurveyQuestion.site_id == site.id)
        )
        question.position = 0 if last is None else last + 1
        self.dbsession.add(question)
        self.dbsession.flush()
        self._audit(actor, "survey.create", question, kind=kind)
        return question

    def update_question(self, actor, question, *, label, help_text="", choices="",
                        scale_min=None, scale_max=None, required=False, show_if=None):
        """Change a question; its kind stays. Answers must keep meaning what they meant:
        an answered choice cannot be removed (relabel it instead), and an answered
        scale cannot change its range."""
        current = (question.show_if_question_id, question.show_if_choice)
        scale_min = question.scale_min if scale_min is None else scale_min
        scale_max = question.scale_max if scale_max is None else scale_max
        old_keys = set(choice_keys(question))
        old_scale = (question.scale_min, question.scale_max)
        new = checked(question.kind, label=label, help_text=help_text, choices=choices,
                       scale_min=scale_min, scale_max=scale_max, existing=question.choices)
        scale_changed = question.kind == "scale" and old_scale != (new["scale_min"],
                                                                   new["scale_max"])
        self._check_kept_answers(question, old_keys - set(choice_keys_of(new["choices"])),
                                 scale_changed)
        if show_if and tuple(show_if) == current:
            checked_show_if = current  # unchanged: kept valid by move, retire and removals
        else:
            checked_show_if = self.checked_show_if(
                show_if, self._choice_questions_before(question.site_id, question))
        self.assign(question, new, required=required, show_if=checked_show_if)
        self.dbsession.flush()
        self._audit(actor, "survey.update", question)
        return question

    def move(self, actor, question, direction: str):
        """Swap a question with its neighbour ("up" or "down"). A show-if question must
        stay after the question it depends on."""
        if direction not in ("up", "down"):
            raise InvalidInput(_("Move a question up or down."))
        questions = self._questions_of_site(question.site_id)
        index = questions.index(question)
        other_index = index - 1 if direction == "up" else index + 1
        if not 0 <= other_index < len(questions):
            raise NotAllowed(_("The question is already at that end of the list."))
        other = questions[other_index]
        if question.show_if_question_id == other.id or other.show_if_question_id == question.id:
            raise NotAllowed(
                _("A question shown only after an answer to another question must stay "
                  "below that question.")
            )
        questions[index], questions[other_index] = other, question
        for position, item in enumerate(questions):
            item.position = position
        self.dbsession.flush()
        self._audit(actor, "survey.move", question, direction=direction)

    def retire(self, actor, question):
        """Stop asking a question; its answers stay and stay exportable."""
        if question.retired_at is not None:
            raise NotAllowed(_("This question is already retired."))
        dependents = [
            q for q in self._questions_of_site(question.site_id)
            if q.show_if_question_id == question.id and q.retired_at is None
        ]
        if dependents:
            raise NotAllowed(
                _("Other questions are shown depending on the answer to this one "
                  "(${labels}). Retire them or change their condition first.",
                  mapping={"labels": "、".join(q.label for q in dependents)})
            )
        question.retired_at = self.clock()
        self.dbsession.flush()
        self._audit(actor, "survey.retire", question)

    def restore(self, actor, question):
        """Ask a retired question again, in its old place."""
        if question.retired_at is None:
            raise NotAllowed(_("This question is being asked; there is nothing to restore."))
        condition = question.show_if_question_id and self.dbsession.get(
            SurveyQuestion, question.show_if_question_id)
        if condition and condition.retired_at is not None:
            raise NotAllowed(
                _("This question depends on “${label}”, which is retired. Restore that "
                  "question first.", mapping={"label": condition.label})
            )
        question.retired_at = None
        self.dbsession.flush()
        self._audit(actor, "survey.restore", question)

    # -- export (site admins) ----------------------------------------------------

    def export_answers(self, actor, site, *, translate) -> bytes:
        """Answers of every active registration as CSV for Excel (UTF-8 with BOM).

        Minimised personal data: the registration's id, date, tier and national common
        answers, then one column per question (retired ones too, marked) with labels,
        never names or addresses. Three queries whatever the number of rows; the read
        is written to the audit log (a staff read of registrants' data)."""
        questions = self._questions_of_site(site.id)
        registrations = self.dbsession.scalars(
            select(Registration)
            .where(Registration.site_id == site.id, Registration.state == "active")
            .order_by(Registration.id)
        ).all()
        answers = {}
        for registration_id, question_id, value in self.dbsession.execute(
            select(SurveyAnswer.registration_id, SurveyAnswer.question_id, SurveyAnswer.value)
            .join(Registration, Registration.id == SurveyAnswer.registration_id)
            .where(Registration.site_id == site.id, Registration.state == "active")
        ):
            answers[registration_id, question_id] = value
        header = [translate(label) for label in EXPORT_COLUMNS] + [
            translate(_("${label} (retired)", mapping={"label": q.label}))
            if q.retired_at else q.label
            for q in questions
        ]
        rows = [
            _registration_cells(registration, translate)
            + [answer_text(q, answers.get((registration.id, q.id))) for q in questions]
            for registration in registrations
        ]
        AuditLog(self.dbsession, self.clock).record(
            actor, "survey.export", site_id=site.id, target=site, rows=len(rows)
        )
        return csv_bytes([header, *rows])

    # -- rules -------------------------------------------------------------------

    @staticmethod
    def assign(question, new, *, required, show_if):
        question.label = new["label"]
        question.help_text = new["help_text"]
        question.choices = new["choices"]
        question.scale_min, question.scale_max = new["scale_min"], new["scale_max"]
        question.required = bool(required)
        question.show_if_question_id, question.show_if_choice = show_if or (None, None)

    def _questions_of_site(self, site_id) -> list:
        return list(
            self.dbsession.scalars(
                select(SurveyQuestion)
                .where(SurveyQuestion.site_id == site_id)
                .order_by(SurveyQuestion.position, SurveyQuestion.id)
            )
        )

    def _choice_questions_before(self, site_id, before=None) -> list:
        questions = self._questions_of_site(site_id)
        if before is not None:
            questions = questions[: questions.index(before)]
        return [q for q in questions if q.retired_at is None and q.kind in CHOICE_KINDS]

    @staticmethod
    def checked_show_if(show_if, earlier):
        """Show-if must point at an earlier, active single/multiple-choice question of
        the same site, and at one of its choices."""
        if not show_if:
            return None
        question_id, key = show_if
        condition = next((q for q in earlier if q.id == question_id), None)
        if condition is None:
            raise InvalidInput(
                _("A question can depend only on an earlier single or multiple choice "
                  "question that is being asked."), field="show_if")
        if key not in choice_keys(condition):
            raise InvalidInput(_("Choose one of that question's options."), field="show_if")
        return condition.id, key

    def _check_kept_answers(self, question, removed_keys, scale_changed):
        """Refuse a change that would leave stored answers or conditions meaningless."""
        if not removed_keys and not scale_changed:
            return
        values = self.dbsession.scalars(
            select(SurveyAnswer.value).where(SurveyAnswer.question_id == question.id)
        )
        answered = set()
        has_answers = False
        for value in values:
            has_answers = True
            answered.update(chosen_keys(value))
        if scale_changed and has_answers:
            raise Conflict(
                _("People have answered this scale, so its range cannot change. Retire "
                  "this question and add a new one instead."), field="scale_min")
        in_use = removed_keys & answered
        if in_use:
            raise Conflict(
                _("These options have answers and cannot be removed: ${labels}. You can "
                  "change their wording instead.",
                  mapping={"labels": "、".join(choice_label(question, k) for k in
                                              sorted(in_use))}), field="choices")
        conditions = self.dbsession.scalars(
            select(SurveyQuestion.label).where(
                SurveyQuestion.show_if_question_id == question.id,
                SurveyQuestion.show_if_choice.in_(removed_keys),
            )
        ).all()
        if conditions:
            raise Conflict(
                _("Other questions are shown when one of the removed options is chosen "
                  "(${labels}). Change their condition first.",
                  mapping={"labels": "、".join(conditions)}), field="choices")

    def _audit(self, actor, action, question, **detail):
        AuditLog(self.dbsession, self.clock).record(
            actor, action, site_id=question.site_id, target=question, **detail
        )


def choices_to_text(question) -> str:
    """The choices as the edit form shows them, one ``key: label`` per line."""
    return "\n".join(f"{c['key']}: {c['label']}" for c in question.choices or ())


def parse_choices(text, existing=()) -> list:
    """Lines of ``key: label`` or just a label into [{"key", "label"}].

    A bare label that matches an existing option keeps that option's key (so pasting
    the labels again does not orphan answers); other bare labels get c1, c2, …"""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    parsed = []
    for line in lines:
        match = CHOICE_LINE.match(line)
        if match:
            parsed.append((match.group(1).lower(), match.group(2).strip()))
        else:
            parsed.append((None, line))
    given = {key for key, _label in parsed if key}
    by_label = {c["label"]: c["key"] for c in existing}
    choices = []
    for key, label in parsed:
        if key is None and by_label.get(label) not in given | {None}:
            key = by_label[label]
            given.add(key)
        choices.append([key, label])
    counter = 0
    for choice in choices:
        while choice[0] is None:
            counter += 1
            if f"c{counter}" not in given:
                choice[0] = f"c{counter}"
                given.add(choice[0])
    return [{"key": key, "label": label} for key, label in choices]


def bounded_text(text, maximum, field) -> str:
    """The text without surrounding spaces, or InvalidInput naming the field when longer
    than ``maximum``."""
    text = (text or "").strip()
    if len(text) > maximum:
        raise InvalidInput(_("At most ${max} characters.", mapping={"max": maximum}),
                           field=field)
    return text


def checked(kind, *, label, help_text, choices, scale_min, scale_max, existing) -> dict:
    """The question's fields after the rules, or InvalidInput naming the field."""
    label = bounded_text(label, LABEL_MAX, "label")
    if not label:
        raise InvalidInput(_("Enter the question."), field="label")
    help_text = bounded_text(help_text, HELP_MAX, "help_text")
    parsed = []
    if kind in CHOICE_KINDS:
        parsed = _checked_choices(parse_choices(choices, existing))
    if kind == "scale":
        _check_scale(scale_min, scale_max)
    else:
        scale_min, scale_max = 1, 5
    return {"label": label, "help_text": help_text, "choices": parsed,
            "scale_min": scale_min, "scale_max": scale_max}


def _checked_choices(choices) -> list:
    if len(choices) < 2:
        raise InvalidInput(_("Give at least two options, one per line."), field="choices")
    if len(choices) > CHOICES_MAX:
        raise InvalidInput(_("At most ${max} options.", mapping={"max": CHOICES_MAX}),
                           field="choices")
    keys = choice_keys_of(choices)
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise InvalidInput(_("Each option needs its own code; used twice: ${keys}.",
                             mapping={"keys": ", ".join(duplicates)}), field="choices")
    labels = [c["label"] for c in choices]
    if any(not text for text in labels):
        raise InvalidInput(_("Every option needs a label."), field="choices")
    if len(set(labels)) < len(labels):
        raise InvalidInput(_("Two options have the same label."), field="choices")
    if any(len(text) > CHOICE_LABEL_MAX for text in labels):
        raise InvalidInput(_("An option can be at most ${max} characters.",
                             mapping={"max": CHOICE_LABEL_MAX}), field="choices")
    return choices


def _check_scale(low, high):
    if not (isinstance(low, int) and isinstance(high, int)
            and SCALE_LOWEST <= low < high <= SCALE_HIGHEST):
        raise InvalidInput(
            _("The scale runs between two whole numbers from ${low} to ${high}, the "
              "smaller first.", mapping={"low": SCALE_LOWEST, "high": SCALE_HIGHEST}),
            field="scale_max")


EXPORT_COLUMNS = (
    _("Registration ID"),
    _("Registered at (Japan time)"),
    _("Tier"),
    _("Relationship type"),
    _("Connections"),
)
LIST_SEPARATOR = " / "


def _registration_cells(registration, translate) -> list:
    return [
        str(registration.id),
        to_tokyo(registration.registered_at).strftime("%Y-%m-%d %H:%M"),
        translate(TIER_LABELS.get(registration.tier, registration.tier)),
        LIST_SEPARATOR.join(translate(RELATIONSHIP_TYPES[key])
                            for key in registration.relationship_types or ()
                            if key in RELATIONSHIP_TYPES),
        LIST_SEPARATOR.join(translate(CONNECTIONS[key]) if key in CONNECTIONS else key
                            for key in registration.connections or ()),
    ]


def answer_text(question, value) -> str:
    """An answer as people read it: option labels, the text, or the number."""
    if not value:
        return ""
    if "text" in value:
        return value["text"]
    if "scale" in value:
        return str(value["scale"])
    return LIST_SEPARATOR.join(choice_label(question, key) for key in chosen_keys(value))


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
