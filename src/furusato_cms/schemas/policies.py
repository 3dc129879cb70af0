"""Forms of the terms of use and the privacy notices: the required consent boxes (at
sign-up, at registration, on the pages that ask again) and the editors' form."""
import colander
import deform

from ..forms import CSRFSchema
from ..i18n import _
from ..services.policies import BODY_MAX
from .fields import Text

TERMS_FIELD = "accept_terms"
PRIVACY_FIELD = "accept_privacy"


def consent_node(name, title, message) -> colander.SchemaNode:
    """A box that must be ticked (an unticked box posts nothing, which reads as False)."""
    return colander.SchemaNode(
        colander.Boolean(),
        name=name,
        title=title,
        validator=colander.OneOf([True], msg_err=message),
        widget=deform.widget.CheckboxWidget(),
    )


def terms_consent() -> colander.SchemaNode:
    return consent_node(TERMS_FIELD, _("I have read and accept the terms of use"),
                        _("Please read the terms of use and tick the box to accept them."))


def privacy_consent() -> colander.SchemaNode:
    return consent_node(PRIVACY_FIELD,
                        _("I have read and accept how my personal data is handled "
                          "(privacy notice)"),
                        _("Please read the privacy notice and tick the box to accept it."))


class TermsAcceptSchema(CSRFSchema):
    """The page that asks again: the version read, and the box."""

    version = colander.SchemaNode(colander.Integer(), widget=deform.widget.HiddenWidget())


class NoticesAcceptSchema(CSRFSchema):
    """The /my/ page that asks again for the sites' new notices."""


class PolicyEditSchema(CSRFSchema):
    body = colander.SchemaNode(
        Text(BODY_MAX, multiline=True),
        title=_("Text (Markdown)"),
        description=_("Publishing makes a new version; earlier versions stay readable, and "
                      "everyone concerned is asked to accept the new one at their next visit."),
        validator=colander.Length(min=1, max=BODY_MAX),
        widget=deform.widget.TextAreaWidget(rows=24),
    )


def with_terms(schema):
    schema.add(terms_consent())
    return schema


def with_privacy(schema):
    schema.add(privacy_consent())
    return schema
