"""Forms of consultations, monitor surveys and the community room.

Text fields are optional here (``missing=""``) and limited in the browser only: the
services decide what is empty or too long, so each rule and its message lives in one
place, and the forms show the services' messages on the fields.
"""
import colander
import deform

from ..forms import CSRFSchema
from ..i18n import _
from ..services.community_room import REASON_MAX, TITLE_MAX
from ..services.consultations import BODY_MAX, SUBJECT_MAX, TOPIC_LABELS
from ..services.monitor_surveys import DESCRIPTION_MAX
from ..services.monitor_surveys import TITLE_MAX as SURVEY_TITLE_MAX
from ..vocabulary import RELATIONSHIP_TYPES, TIER_LABELS
from .fields import Text

ATTACHMENT_ACCEPT = "application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png"


class _NoTempStore(dict):
    """deform's upload widget wants a store to show a file again; none is kept (people
    choose the file again after a refusal)."""

    def preview_url(self, uid):
        return None


def _text(title, max_length, *, description=None, rows=None):
    widget = (deform.widget.TextAreaWidget(rows=rows, attributes={"maxlength": str(max_length)})
              if rows else
              deform.widget.TextInputWidget(attributes={"maxlength": str(max_length)}))
    return colander.SchemaNode(Text(max_length, multiline=bool(rows)), title=title, missing="",
                               description=description, widget=widget)


def _body(title=_("Message")):
    return _text(title, BODY_MAX, rows=8, description=_(
        "Plain text, at most ${max} characters. Web addresses (https://…) become links.",
        mapping={"max": BODY_MAX}))


@colander.deferred
def _attachment_widget(node, kw):
    return deform.widget.FileUploadWidget(_NoTempStore(), accept=ATTACHMENT_ACCEPT)


@colander.deferred
def _attachment_description(node, kw):
    return _("Optional. One PDF, JPEG or PNG file of at most ${mb} MB.",
             mapping={"mb": kw["max_mb"]})


def _attachment():
    return colander.SchemaNode(deform.FileData(), title=_("Attachment"), missing=colander.null,
                               widget=_attachment_widget, description=_attachment_description)


@colander.deferred
def _site_widget(node, kw):
    return deform.widget.SelectWidget(values=[("", "—")] + list(kw["site_choices"]))


@colander.deferred
def _topic_widget(node, kw):
    translate = kw["request"].localizer.translate
    return deform.widget.RadioChoiceWidget(
        values=[(key, translate(label)) for key, label in TOPIC_LABELS.items()])


class ConsultationSchema(CSRFSchema):
    """A new consultation: where to, about what, and the first message."""

    site = colander.SchemaNode(Text(), title=_("Local government"),
                               widget=_site_widget)
    topic = colander.SchemaNode(Text(), title=_("Topic"), widget=_topic_widget)
    subject = _text(_("Subject"), SUBJECT_MAX,
                    description=_("A few words, e.g. “Looking for a house for dual residence”."))
    body = _body()
    attachment = _attachment()


class MessageSchema(CSRFSchema):
    body = _body(_("Your reply"))
    attachment = _attachment()


@colander.deferred
def _assignee_widget(node, kw):
    return deform.widget.SelectWidget(values=[(str(a.id), a.display_name)
                                              for a in kw["handlers"]])


class AssignSchema(CSRFSchema):
    assignee = colander.SchemaNode(colander.Integer(), title=_("Person in charge"),
                                   widget=_assignee_widget)


class ThreadSchema(CSRFSchema):
    title = _text(_("Title"), TITLE_MAX)
    body = _body()


class ReplySchema(CSRFSchema):
    body = _body(_("Your reply"))


class ReasonSchema(CSRFSchema):
    reason = _text(_("Reason"), REASON_MAX, rows=3)


class _Optional(colander.SchemaType):
    """A select whose empty choice means "any" (None); other values go through ``typ``."""

    def __init__(self, typ):
        self.typ = typ

    def serialize(self, node, appstruct):
        return "" if appstruct in (None, colander.null) else self.typ.serialize(node, appstruct)

    def deserialize(self, node, cstruct):
        if cstruct in (colander.null, None, ""):
            return None
        return self.typ.deserialize(node, cstruct)


@colander.deferred
def _tier_widget(node, kw):
    translate = kw["request"].localizer.translate
    return deform.widget.SelectWidget(values=[("", translate(_("Any tier")))] + [
        (key, translate(label)) for key, label in TIER_LABELS.items()])


@colander.deferred
def _relationship_widget(node, kw):
    translate = kw["request"].localizer.translate
    return deform.widget.SelectWidget(values=[("", translate(_("Any relationship type")))] + [
        (str(key), translate(label)) for key, label in RELATIONSHIP_TYPES.items()])


class MonitorSurveySchema(CSRFSchema):
    title = _text(_("Title"), SURVEY_TITLE_MAX)
    description = _text(_("Description"), DESCRIPTION_MAX, rows=4, description=_(
        "Optional. Shown above the questions: what the survey is for and how answers are used."))
    target_tier = colander.SchemaNode(
        _Optional(Text()), title=_("Target group: tier"), missing=None,
        widget=_tier_widget)
    target_relationship_type = colander.SchemaNode(
        _Optional(colander.Integer()), title=_("Target group: relationship type"),
        missing=None, widget=_relationship_widget,
        description=_("Everyone with an active registration with the site is asked, narrowed "
                      "by these choices."))
