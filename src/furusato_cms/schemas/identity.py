"""The form a minor fills in to ask their guardian for consent (保護者の同意).

The schema checks shape; the rules (only minors, not one's own address, a known
relationship) live in services/identity.
"""
import colander
import deform

from ..forms import CSRFSchema
from ..i18n import _
from ..services.identity import GUARDIAN_RELATIONSHIPS
from .fields import EMAIL_MAX, Text


def _strip(value):
    return value.strip() if isinstance(value, str) else value


@colander.deferred
def _relationship_widget(node, kw):
    translate = kw["request"].localizer.translate
    return deform.widget.RadioChoiceWidget(
        values=[(key, translate(label)) for key, label in GUARDIAN_RELATIONSHIPS.items()]
    )


class GuardianConsentSchema(CSRFSchema):
    guardian_name = colander.SchemaNode(
        Text(200),
        title=_("Your guardian's name"),
        preparer=_strip,
        validator=colander.Length(min=1, max=200, max_err=_("Use at most ${max} characters.")),
        widget=deform.widget.TextInputWidget(attributes={"maxlength": "200"}),
    )
    relationship = colander.SchemaNode(
        Text(),
        title=_("Who is this person to you?"),
        validator=colander.OneOf(
            list(GUARDIAN_RELATIONSHIPS), msg_err=_("Choose how the guardian is related to you.")
        ),
        widget=_relationship_widget,
    )
    guardian_email = colander.SchemaNode(
        Text(EMAIL_MAX),
        title=_("Your guardian's email address"),
        description=_("We send your guardian a link to confirm. Use their own address."),
        preparer=_strip,
        validator=colander.All(
            colander.Length(max=254), colander.Email(msg=_("Enter a valid email address."))
        ),
        widget=deform.widget.TextInputWidget(
            attributes={"type": "email", "autocomplete": "off", "maxlength": "254"}
        ),
    )
