"""The registration form (登録フォーム): the national common questions (全国共通項目),
then the site's own questions from the survey engine, as one flat deform form.

The service checks the same rules again (``checked_national``, the survey engine's
``check_answers``), so a form and its rule cannot disagree; the schema only gives
early, per-field messages.
"""
import colander
import deform

from ..forms import CSRFSchema
from ..i18n import _
from ..services.survey import choice_label
from ..vocabulary import CONNECTIONS, RELATIONSHIP_TYPES
from .policies import PRIVACY_FIELD
from .survey import answers_appstruct, question_nodes

NATIONAL_FIELDS = ("relationship_type", "connections")


@colander.deferred
def _relationship_widget(node, kw):
    translate = kw["request"].localizer.translate
    return deform.widget.RadioChoiceWidget(
        values=[(str(key), translate(label)) for key, label in RELATIONSHIP_TYPES.items()]
    )


@colander.deferred
def _connections_widget(node, kw):
    translate = kw["request"].localizer.translate
    return deform.widget.CheckboxChoiceWidget(
        values=[(key, translate(label)) for key, label in CONNECTIONS.items()]
    )


class NationalQuestions(CSRFSchema):
    relationship_type = colander.SchemaNode(
        colander.Integer(),
        title=_("How are you related to this area? (type)"),
        description=_("Choose the one that fits you best."),
        validator=colander.OneOf(list(RELATIONSHIP_TYPES), msg_err=_("Choose one type.")),
        widget=_relationship_widget,
    )
    connections = colander.SchemaNode(
        colander.Set(),
        title=_("Your connections with this area"),
        description=_("Choose all that apply."),
        validator=colander.Length(min=1, min_err=_("Choose at least one connection.")),
        widget=_connections_widget,
    )


def registration_schema(questions) -> colander.Schema:
    """The national questions followed by the site's own ``questions``."""
    schema = NationalQuestions()
    for node in question_nodes(questions):
        schema.add(node)
    return schema


def site_answers(appstruct) -> dict:
    """The raw values of the site's own questions (``q<id>``) from a validated form."""
    return {name: value for name, value in appstruct.items()
            if name not in NATIONAL_FIELDS and name != PRIVACY_FIELD}


def prefilled(registration, questions, answers) -> dict:
    """Form values from a registration and its stored answers (editing, rejoining)."""
    appstruct = answers_appstruct(questions, answers)
    appstruct["relationship_type"] = registration.relationship_type
    appstruct["connections"] = set(registration.connections or ())
    return appstruct


def summary(translate, relationship_type, connections, questions, answers) -> list:
    """(question, answer) pairs in plain words, for the confirmation step."""
    rows = [
        (translate(_("How are you related to this area? (type)")),
         translate(RELATIONSHIP_TYPES[relationship_type])),
        (translate(_("Your connections with this area")),
         "、".join(translate(CONNECTIONS[key]) for key in connections)),
    ]
    for question in questions:
        value = answers.get(question.id)
        rows.append((question.label, _answer_text(translate, question, value)))
    return rows


def _answer_text(translate, question, value) -> str:
    if not value:
        return translate(_("(not answered)"))
    if "text" in value:
        return value["text"]
    if "scale" in value:
        return str(value["scale"])
    keys = [value["choice"]] if "choice" in value else value["choices"]
    return "、".join(choice_label(question, key) for key in keys)

