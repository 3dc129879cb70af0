"""Forms for partner organisations, projects, sessions and applications.

The schemas shape the input; the limits and rules are checked again by
``services/partners.py`` and ``services/projects.py``. Times are typed in Japan time
and come out in UTC (``TokyoDateTime``).
"""
import colander
import deform

from ..forms import CSRFSchema
from ..i18n import _
from ..interests import INTERESTS
from ..models.partner import DESIGNATION_PATTERNS, PARTNER_KINDS
from ..services.partners import DESIGNATION_LABELS, NAME_MAX, PARTNER_KIND_LABELS
from ..services.projects import CAPACITY_MAX, CONDITIONS_MAX, PLACE_MAX, QUESTIONS_MAX
from ..services.session_applications import ANSWER_MAX
from ..services.publishing import BODY_MAX, SUMMARY_MAX, TITLE_MAX
from .content import MARKDOWN_HELP, TokyoDateTime, markdown_widget
from .fields import EMAIL_MAX, Text
from .fields import text_node as _text

REQUIRED_MARK = "*"
PARTICIPATION = ("open", "application")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _email(title, *, required=True, description=None):
    return colander.SchemaNode(
        Text(EMAIL_MAX), title=title, description=description, preparer=_strip,
        validator=colander.All(colander.Email(msg=_("Enter a valid email address.")),
                               colander.Length(max=254)),
        missing=colander.required if required else "",
        widget=deform.widget.TextInputWidget(
            attributes={"type": "email", "autocomplete": "email", "inputmode": "email"}
        ),
    )


def choices_widget(labels, keys, widget_class=deform.widget.SelectWidget):
    @colander.deferred
    def widget(node, kw):
        translate = kw["request"].localizer.translate
        return widget_class(values=[(key, translate(labels[key])) for key in keys])
    return widget


def _moment(title, description=None):
    return colander.SchemaNode(
        TokyoDateTime(), title=title, description=description,
        widget=deform.widget.TextInputWidget(
            attributes={"type": "datetime-local", "placeholder": "2026-12-01 09:00"}
        ),
    )


def _optional_moment(title, description):
    node = _moment(title, description)
    node.missing = None
    return node


# -- partner organisations -------------------------------------------------------


class PartnerSchema(CSRFSchema):
    name = _text(_("Name of the organisation"), NAME_MAX,
                 description=_("e.g. 中央町自治会"))
    kind = colander.SchemaNode(
        Text(), title=_("Type of organisation"),
        validator=colander.OneOf(PARTNER_KINDS),
        widget=choices_widget(PARTNER_KIND_LABELS, PARTNER_KINDS),
    )
    designation_pattern = colander.SchemaNode(
        Text(), title=_("How its projects count for premium registration"),
        description=_("This sets each new project's designation; the site can change any "
                      "project's designation later. Projects that already exist keep theirs."),
        validator=colander.OneOf(DESIGNATION_PATTERNS),
        widget=choices_widget(DESIGNATION_LABELS, DESIGNATION_PATTERNS,
                               deform.widget.RadioChoiceWidget),
    )
    contact_email = _email(_("Contact email address"), required=False)


class PartnerInviteSchema(CSRFSchema):
    email = _email(_("Email address of the person to invite"))


# -- projects ---------------------------------------------------------------------


class QuestionLines(colander.SchemaType):
    """The project's own questions, one per line; a line starting with ``*`` is a
    required question. Comes out as ``[{"label", "required"}]``."""

    def serialize(self, node, appstruct):
        if appstruct in (colander.null, None):
            return colander.null
        return "\n".join(
            (REQUIRED_MARK + " " if q.get("required") else "") + q["label"] for q in appstruct
        )

    def deserialize(self, node, cstruct):
        if cstruct in (colander.null, None):
            return colander.null
        questions = []
        for line in str(cstruct).splitlines():
            line = line.strip()
            required = line.startswith((REQUIRED_MARK, "＊"))
            label = line[1:].strip() if required else line
            if label:
                questions.append({"label": label, "required": required})
        if len(questions) > QUESTIONS_MAX:
            raise colander.Invalid(node, _("At most ${max} questions.",
                                           mapping={"max": QUESTIONS_MAX}))
        return questions


@colander.deferred
def _partner_widget(node, kw):
    translate = kw["request"].localizer.translate
    choices = [("", translate(_("The site's own project")))]
    choices += [(str(p.id), p.name) for p in kw["partners"]]
    return deform.widget.SelectWidget(values=choices)


class ProjectSchema(CSRFSchema):
    title = _text(_("Title"), TITLE_MAX, description=_("e.g. りんご収穫のお手伝い"))
    partner_id = colander.SchemaNode(
        colander.Integer(), title=_("Organised by"), missing=None, widget=_partner_widget,
        description=_("A partner organisation's staff manage their own projects."),
    )
    field = colander.SchemaNode(
        Text(), title=_("Field of the activity"),
        validator=colander.OneOf(tuple(INTERESTS)),
        widget=choices_widget(INTERESTS, tuple(INTERESTS)),
    )
    summary = _text(_("Summary"), SUMMARY_MAX, required=False, rows=3,
                    description=_("One or two sentences shown in lists."))
    body = _text(_("Description"), BODY_MAX, required=False, description=MARKDOWN_HELP,
                 widget=markdown_widget("projects", rows=14), multiline=True)
    conditions = _text(_("Conditions"), CONDITIONS_MAX, required=False, rows=4,
                       description=_("Who can take part, what to bring, costs, transport … "
                                     "(Markdown, like the description)"))
    questions = colander.SchemaNode(
        QuestionLines(), title=_("Questions for applicants"), missing=(),
        description=_("One question per line, at most ${max}. Start a line with * to make "
                      "the question required, e.g. “* Allergies”. Answers are free text.",
                      mapping={"max": QUESTIONS_MAX}),
        widget=deform.widget.TextAreaWidget(rows=4),
    )
    publish_at = _optional_moment(_("Show from (Japan time)"),
                                  _("Leave empty to show as soon as it is published."))
    expire_at = _optional_moment(_("Show until (Japan time)"),
                                 _("Leave empty to keep it shown."))
    expected_version = colander.SchemaNode(
        colander.Integer(), widget=deform.widget.HiddenWidget(), missing=None
    )


def project_schema(*, new: bool, choose_partner: bool) -> ProjectSchema:
    """A new project asks who organises it (site-wide staff only: partner staff always
    create for their own organisation); an existing one keeps its organiser."""
    schema = ProjectSchema()
    if not (new and choose_partner):
        del schema["partner_id"]
    if new:
        del schema["expected_version"]
    return schema


# -- sessions ---------------------------------------------------------------------

PARTICIPATION_LABELS = {
    "open": _("Open: no application, people just come"),
    "application": _("Application required (with capacity and a waiting list)"),
}


class SessionSchema(CSRFSchema):
    starts_at = _moment(_("Starts (Japan time)"))
    ends_at = _moment(_("Ends (Japan time)"))
    place = _text(_("Place"), PLACE_MAX, required=False,
                  description=_("e.g. 中央公民館 (長野市大字鶴賀1番地)"))
    online = colander.SchemaNode(
        colander.Boolean(), title=_("Online session"), missing=False,
        description=_("People take part over the internet (the place may name the service)."),
        widget=deform.widget.CheckboxWidget(),
    )
    participation = colander.SchemaNode(
        Text(), title=_("How to take part"),
        validator=colander.OneOf(PARTICIPATION),
        widget=choices_widget(PARTICIPATION_LABELS, PARTICIPATION,
                               deform.widget.RadioChoiceWidget),
    )
    capacity = colander.SchemaNode(
        colander.Integer(), title=_("Capacity (people)"), missing=None,
        validator=colander.Range(
            1, CAPACITY_MAX,
            min_err=_("Enter a capacity from 1 to ${max}, or leave it empty for no limit.",
                      mapping={"max": CAPACITY_MAX}),
            max_err=_("Enter a capacity from 1 to ${max}, or leave it empty for no limit.",
                      mapping={"max": CAPACITY_MAX}),
        ),
        description=_("Leave empty for no limit. Beyond capacity, people join the waiting list."),
        widget=deform.widget.TextInputWidget(
            attributes={"type": "number", "inputmode": "numeric", "min": 1, "max": CAPACITY_MAX}
        ),
    )


def session_values(data) -> dict:
    """The form's values as the service takes them."""
    return {"starts_at": data["starts_at"], "ends_at": data["ends_at"], "place": data["place"],
            "capacity": data["capacity"], "online": data.get("online", False),
            "application_required": data["participation"] == "application"}


def session_appstruct(session) -> dict:
    return {"starts_at": session.starts_at, "ends_at": session.ends_at, "place": session.place,
            "capacity": session.capacity, "online": session.online,
            "participation": "application" if session.application_required else "open"}


# -- applications -----------------------------------------------------------------


def application_schema(questions) -> CSRFSchema:
    """One free-text field per question of the project, named by the question's key."""
    schema = CSRFSchema()
    for question in questions:
        schema.add(colander.SchemaNode(
            Text(ANSWER_MAX, multiline=True), name=question["key"], title=question["label"],
            preparer=_strip,
            missing=colander.required if question["required"] else "",
            missing_msg=_("Please answer this question."),
            validator=colander.Length(
                max=ANSWER_MAX, max_err=_("At most ${max} characters.",
                                          mapping={"max": ANSWER_MAX})
            ),
            widget=deform.widget.TextAreaWidget(rows=2),
        ))
    return schema
