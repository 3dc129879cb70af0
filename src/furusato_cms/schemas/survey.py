"""Form fields for a site's own survey questions (登録時アンケートの独自項目).

``question_nodes`` gives one deform field per question, named ``q<id>``, to put into
any answering form (registration now, monitor surveys later). Every field is
optional here (``missing=colander.drop``): ``SurveyService.check_answers`` decides
what is required, because a show-if question is required only when it is shown,
and the form shows all questions at once so it works without JavaScript; a
show-if question says in its description when to answer it.
"""
import colander
import deform

from ..forms import CSRFSchema
from ..i18n import _
from ..services.survey import (
    CHOICE_KINDS,
    CHOICE_LABEL_MAX,
    CHOICES_MAX,
    HELP_MAX,
    KIND_LABELS,
    LABEL_MAX,
    SCALE_HIGHEST,
    SCALE_LOWEST,
    TEXT_ANSWER_MAX,
    field_name,
)
from .fields import Text


def question_nodes(questions) -> list:
    """One field per question, in the given order."""
    by_id = {question.id: question for question in questions}
    return [_node(question, by_id) for question in questions]


def show_answer_errors(form, errors: dict) -> str:
    """Put ``AnswerCheck.errors`` on their fields and return the re-rendered form."""
    top = colander.Invalid(form.schema, None)
    names = [child.name for child in form.schema.children]
    for name, message in errors.items():
        if name in names:
            top.add(colander.Invalid(form.schema[name], message), names.index(name))
    form.widget.handle_error(form, top)
    return form.render()


def answers_appstruct(questions, answers: dict) -> dict:
    """Stored answers (question id -> value) as form values, to prefill an edit form."""
    appstruct = {}
    for question in questions:
        value = answers.get(question.id)
        if not value:
            continue
        if "choice" in value:
            appstruct[field_name(question)] = value["choice"]
        elif "choices" in value:
            appstruct[field_name(question)] = set(value["choices"])
        elif "text" in value:
            appstruct[field_name(question)] = value["text"]
        elif "scale" in value:
            appstruct[field_name(question)] = str(value["scale"])
    return appstruct


def _node(question, by_id):
    typ, widget = _WIDGETS[question.kind](question)
    return colander.SchemaNode(
        typ,
        name=field_name(question),
        title=question.label,
        description=_description(question, by_id),
        missing=colander.drop,
        widget=widget,
    )


def _single(question):
    choices = [(choice["key"], choice["label"]) for choice in question.choices]
    return Text(), deform.widget.RadioChoiceWidget(values=choices)


def _multiple(question):
    choices = [(choice["key"], choice["label"]) for choice in question.choices]
    return colander.Set(), deform.widget.CheckboxChoiceWidget(values=choices)


def _text(question):
    return Text(TEXT_ANSWER_MAX, multiline=True), deform.widget.TextAreaWidget(
        rows=4, attributes={"maxlength": str(TEXT_ANSWER_MAX)}
    )


def _scale(question):
    """Numbers from min to max side by side; the two ends carry their meaning."""
    low, high = question.scale_min, question.scale_max
    values = []
    for number in range(low, high + 1):
        if number == low:
            label = _("${n} (lowest)", mapping={"n": number})
        elif number == high:
            label = _("${n} (highest)", mapping={"n": number})
        else:
            label = str(number)
        values.append((str(number), label))
    return Text(), deform.widget.RadioChoiceWidget(values=values, inline=True)


_WIDGETS = {"single": _single, "multiple": _multiple, "text": _text, "scale": _scale}


def _description(question, by_id):
    """The help text, and for a show-if question when to answer it."""
    condition = by_id.get(question.show_if_question_id)
    if condition is None:
        return question.help_text or None
    choice = next(
        (c["label"] for c in condition.choices if c["key"] == question.show_if_choice),
        question.show_if_choice,
    )
    mapping = {"choice": choice, "question": condition.label, "help": question.help_text}
    if question.help_text:
        return _("${help} (Answer only if you chose “${choice}” in “${question}”.)",
                 mapping=mapping)
    return _("Answer only if you chose “${choice}” in “${question}”.", mapping=mapping)


# -- editing questions (editors) --------------------------------------------------

CHOICES_HELP = _(
    "One option per line. To keep a fixed code for an option (used in the CSV export and "
    "in conditions), write the code, a colon and the label, e.g. \"apple: りんご\"; codes are "
    "letters, digits, - and _, starting with a letter. Lines without a code get one "
    "automatically. Only for single and multiple choice."
)


class ShowIf(colander.SchemaType):
    """The show-if condition as one select value ``<question id>:<choice key>``;
    comes out as (question id, key) or None. The service checks it really exists."""

    def serialize(self, node, appstruct):
        if not appstruct:
            return ""
        return f"{appstruct[0]}:{appstruct[1]}"

    def deserialize(self, node, cstruct):
        if cstruct in (colander.null, None, ""):
            return None
        question_id, _sep, key = str(cstruct).partition(":")
        if not (question_id.isascii() and question_id.isdigit() and key):
            raise colander.Invalid(node, _("Choose a condition from the list."))
        return int(question_id), key


@colander.deferred
def _kind_widget(node, kw):
    translate = kw["request"].localizer.translate
    return deform.widget.SelectWidget(
        values=[(kind, translate(label)) for kind, label in KIND_LABELS.items()]
    )


@colander.deferred
def _show_if_widget(node, kw):
    """Earlier choice questions as option groups, so no script is needed to pick a
    question and then one of its options."""
    translate = kw["request"].localizer.translate
    values = [("", translate(_("Always ask this question")))]
    for question in kw["show_if_options"]:
        values.append(deform.widget.OptGroup(
            question.label,
            *[(f"{question.id}:{c['key']}", translate(_("When “${choice}” is chosen",
                                                        mapping={"choice": c["label"]})))
              for c in question.choices],
        ))
    return deform.widget.SelectWidget(values=values)


def _scale_bound(title, default):
    numbers = [(str(n), str(n)) for n in range(SCALE_LOWEST, SCALE_HIGHEST + 1)]
    return colander.SchemaNode(
        colander.Integer(), title=title, missing=default,
        widget=deform.widget.SelectWidget(values=numbers),
    )


class QuestionSchema(CSRFSchema):
    """An existing question: its kind is fixed, because answers are stored in its shape."""

    label = colander.SchemaNode(
        Text(LABEL_MAX), title=_("Question"), missing="",
        widget=deform.widget.TextInputWidget(attributes={"maxlength": str(LABEL_MAX)}),
    )
    help_text = colander.SchemaNode(
        Text(HELP_MAX, multiline=True), title=_("Help text"), missing="",
        description=_("Optional. Shown under the question."),
        widget=deform.widget.TextAreaWidget(rows=2),
    )
    choices = colander.SchemaNode(
        Text(CHOICES_MAX * (CHOICE_LABEL_MAX + 2), multiline=True), title=_("Options"),
        missing="", description=CHOICES_HELP,
        widget=deform.widget.TextAreaWidget(rows=6),
    )
    scale_min = _scale_bound(_("Scale: lowest number"), 1)
    scale_max = _scale_bound(_("Scale: highest number"), 5)
    required = colander.SchemaNode(
        colander.Boolean(), title=_("Answer required"), missing=False,
        widget=deform.widget.CheckboxWidget(),
    )
    show_if = colander.SchemaNode(
        ShowIf(), title=_("Ask only when"), missing=None, widget=_show_if_widget,
        description=_("Optional. Ask this question only when an earlier single or multiple "
                      "choice question was answered with a given option."),
    )


def question_schema(kind=None):
    """The question form. A new question (``kind`` None) asks for its kind first and
    shows every field, each saying which kinds it is for; an existing one shows only
    the fields of its kind."""
    schema = QuestionSchema()
    if kind is None:
        schema.insert(1, colander.SchemaNode(
            Text(), name="kind", title=_("Kind of question"), widget=_kind_widget))
        return schema
    if kind not in CHOICE_KINDS:
        del schema["choices"]
    if kind != "scale":
        del schema["scale_min"]
        del schema["scale_max"]
    return schema


def question_appstruct(question, choices_text: str) -> dict:
    """A question's current values for the edit form."""
    show_if = None
    if question.show_if_question_id is not None:
        show_if = (question.show_if_question_id, question.show_if_choice)
    return {
        "label": question.label, "help_text": question.help_text, "choices": choices_text,
        "scale_min": question.scale_min, "scale_max": question.scale_max,
        "required": question.required, "show_if": show_if,
    }
