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

from ..i18n import _
from ..services.survey import TEXT_ANSWER_MAX, field_name


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
    return colander.String(), deform.widget.RadioChoiceWidget(values=choices)


def _multiple(question):
    choices = [(choice["key"], choice["label"]) for choice in question.choices]
    return colander.Set(), deform.widget.CheckboxChoiceWidget(values=choices)


def _text(question):
    return colander.String(), deform.widget.TextAreaWidget(
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
    return colander.String(), deform.widget.RadioChoiceWidget(values=values, inline=True)


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
