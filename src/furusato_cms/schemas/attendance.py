"""Forms of the attendance screens: a card code typed by staff or a scanner, the reason for
voiding a record, and the person picked from the search (a hidden account id).

The rules (who may be recorded, reason required) live in ``AttendanceService``;
these only shape the input."""
import colander
import deform

from ..forms import CSRFSchema
from ..i18n import _
from ..services.attendance import REASON_MAX
from .fields import Text

CARD_TOKEN_MAX = 100
SEARCH_MAX = 100
ID_MAX = 2**31 - 1
"""Row ids are 32-bit integers: a larger number names nothing (and must not reach the database)."""


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class CardCodeSchema(CSRFSchema):
    card_token = colander.SchemaNode(
        Text(CARD_TOKEN_MAX),
        title=_("Card code"),
        description=_("Type the 12-digit code the person reads out from their card code "
                      "page (the hyphens are optional), or scan its QR code."),
        preparer=_strip,
        validator=colander.Length(min=1, max=CARD_TOKEN_MAX),
        widget=deform.widget.TextInputWidget(
            autocomplete="off",
            attributes={"autocapitalize": "off", "spellcheck": "false", "inputmode": "numeric"}
        ),
    )


class VoidSchema(CSRFSchema):
    reason = colander.SchemaNode(
        Text(REASON_MAX, multiline=True),
        title=_("Reason for voiding"),
        description=_("Kept with the record; the person's history will no longer count it."),
        preparer=_strip,
        validator=colander.Length(min=1, max=REASON_MAX),
        widget=deform.widget.TextAreaWidget(rows=3),
    )


class RecordSchema(colander.Schema):
    """The hidden field of a search result's "Record" button."""

    account_id = colander.SchemaNode(colander.Int(), validator=colander.Range(min=1, max=ID_MAX))


def row_id(text) -> int | None:
    """A row id from a query parameter, or None when it cannot name a row."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= ID_MAX:
        return None
    return int(text)


def search_text(params) -> str:
    """The search box's text, trimmed and bounded (a GET parameter)."""
    return (params.get("q") or "").strip()[:SEARCH_MAX]
