"""The operator's form of the national settings (国が決める設定)."""
import colander
import deform

from ..forms import CSRFSchema
from ..i18n import _
from ..models.national import INACTIVITY_DAYS_RANGE
from ..services.national import INACTIVITY_MESSAGE

_LOW, _HIGH = INACTIVITY_DAYS_RANGE
_RANGE_MESSAGE = INACTIVITY_MESSAGE % {"low": _LOW, "high": _HIGH}


class NationalSettingsSchema(CSRFSchema):
    free_period_end = colander.SchemaNode(
        colander.Date(),
        title=_("End of the fee-free period"),
        description=_("For local governments that joined by 31 March 2028. Leave empty until "
                      "the country has decided it: pages then say “for a set period”."),
        missing=None,
        widget=deform.widget.TextInputWidget(attributes={"type": "date"}),
    )
    inactivity_days = colander.SchemaNode(
        colander.Integer(),
        title=_("National inactivity period (days)"),
        description=_("Basic registrations of people who have not signed in for this long are "
                      "released, after a notice 30 days before. Sites may set a longer "
                      "period, never a shorter one. Standard: 730 days (2 years)."),
        validator=colander.Range(_LOW, _HIGH, min_err=_RANGE_MESSAGE, max_err=_RANGE_MESSAGE),
        widget=deform.widget.TextInputWidget(
            attributes={"type": "number", "inputmode": "numeric", "min": _LOW, "max": _HIGH}
        ),
    )
