"""The form of a webhook endpoint: its URL, a note, and the events it takes. The URL's
rules (scheme, private addresses) are the service's, shown on the field."""
import colander
import deform

from ..forms import CSRFSchema
from ..i18n import _
from ..models.webhook import EVENT_TYPES
from ..services.webhooks.endpoints import DESCRIPTION_MAX, EVENT_LABELS, URL_MAX
from .fields import text_node


@colander.deferred
def _events_widget(node, kw):
    translate = kw["request"].localizer.translate
    return deform.widget.CheckboxChoiceWidget(
        values=[(event, translate(EVENT_LABELS[event])) for event in EVENT_TYPES])


class EndpointSchema(CSRFSchema):
    url = text_node(_("URL that receives the events"), URL_MAX,
                    attributes={"type": "url", "inputmode": "url", "autocomplete": "off"},
                    description=_("Your system's address, e.g. "
                                  "https://example.lg.jp/furusato/events"))
    description = text_node(_("Note (what this endpoint is for)"), DESCRIPTION_MAX,
                            required=False)
    event_types = colander.SchemaNode(
        colander.Set(), title=_("Events to send"), widget=_events_widget,
        validator=colander.Length(min=1, min_err=_("Choose at least one kind of event.")))
