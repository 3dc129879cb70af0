"""The registration form (登録フォーム): the national common questions (全国共通項目),
then the site's own questions from the survey engine, as one flat deform form; for a
person without verified identity it also asks the postal code of where they live
(居住地の郵便番号; only its municipality is kept, to flag at-home registrations).

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
from .fields import Text
from .policies import PRIVACY_FIELD
from .survey import answers_appstruct, question_nodes

NATIONAL_FIELDS = ("relationship_types", "connections", "postal_code")
TYPES_TITLE = _("Which of these apply to your relationship with this area? (type)")
POSTAL_CODE_MAX = 20


@colander.deferred
def types_widget(node, kw):
    translate = kw["request"].localizer.translate
    return deform.widget.CheckboxChoiceWidget(
        values=[(str(key), translate(label)) for key, label in RELATIONSHIP_TYPES.items()]
    )


def types_node(name="relationship_types", title=TYPES_TITLE, required=True):
    """The 類型①–④ checkboxes (which apply); ``required`` asks for at least one."""
    return colander.SchemaNode(
        colander.Set(), name=name, title=title,
        description=_("Choose all that apply (at least one).") if required
        else _("Choose all that apply."),
        validator=colander.Length(min=1, min_err=_("Choose at least one type that applies "
                                                   "to you.")) if required else None,
        missing=colander.required if required else set(),
        widget=types_widget,
    )


def postal_code_node():
    return colander.SchemaNode(
        Text(POSTAL_CODE_MAX), name="postal_code", title=_("Postal code of where you live"),
        description=_("7 digits, e.g. 380-0851. Registrations where you live are welcome but "
                      "not counted as relationship population; only your municipality is "
                      "kept. Leave empty if you live outside Japan."),
        missing="", validator=colander.Length(max=POSTAL_CODE_MAX),
        widget=deform.widget.TextInputWidget(attributes={"autocomplete": "postal-code",
                                                         "inputmode": "numeric"}),
    )


@colander.deferred
def _connections_widget(node, kw):
    translate = kw["request"].localizer.translate
    return deform.widget.CheckboxChoiceWidget(
        values=[(key, translate(label)) for key, label in CONNECTIONS.items()]
    )


class NationalQuestions(CSRFSchema):
    connections = colander.SchemaNode(
        colander.Set(),
        title=_("Your connections with this area"),
        description=_("Choose all that apply."),
        validator=colander.Length(min=1, min_err=_("Choose at least one connection.")),
        widget=_connections_widget,
    )


def registration_schema(questions, ask_postal_code=False) -> colander.Schema:
    """The national questions (and the postal code, when asked) followed by the site's
    own ``questions``."""
    schema = NationalQuestions()
    schema.insert(1, types_node())
    if ask_postal_code:
        schema.add(postal_code_node())
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
    appstruct["relationship_types"] = {str(t) for t in registration.relationship_types or ()}
    appstruct["connections"] = set(registration.connections or ())
    return appstruct


def summary(translate, relationship_types, connections, questions, answers,
            home=None) -> list:
    """(question, answer) pairs in plain words, for the confirmation step; ``home`` is
    the municipality of a declared postal code."""
    rows = [
        (translate(TYPES_TITLE),
         "、".join(translate(RELATIONSHIP_TYPES[t]) for t in relationship_types)),
        (translate(_("Your connections with this area")),
         "、".join(translate(CONNECTIONS[key]) for key in connections)),
    ]
    if home is not None:
        rows.append((translate(_("Where you live")), home.name))
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

