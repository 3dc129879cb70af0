"""Forms of premium registration: a coordinator's reason for refusing, a stay point, and
the registrant's stay declaration with its documents. The rules (reason required,
dates, document types and sizes) live in services/premium.py and services/stays.py;
these only shape the input."""
import colander
import deform

from ..forms import CSRFSchema
from ..i18n import _
from ..services.premium import REASON_MAX
from ..services.stays import MAX_DOCUMENTS, NAME_MAX, NOTE_MAX, POINT_KINDS
from .fields import Text

ID_MAX = 2**31 - 1
DOCUMENT_ACCEPT = "application/pdf,image/jpeg,image/png"


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class _NoStore(dict):
    """deform's upload widget wants a store for showing a file again; a declaration keeps
    none (the files are read once, during the request)."""

    def preview_url(self, uid):
        return None


class ReasonSchema(CSRFSchema):
    reason = colander.SchemaNode(
        Text(REASON_MAX, multiline=True),
        title=_("Reason (the person sees it)"),
        preparer=_strip,
        validator=colander.Length(min=1, max=REASON_MAX),
        widget=deform.widget.TextAreaWidget(rows=4),
    )


class StayPointSchema(CSRFSchema):
    name = colander.SchemaNode(
        Text(NAME_MAX), title=_("Name of the place"), preparer=_strip,
        validator=colander.Length(min=1, max=NAME_MAX),
        description=_("e.g. ゲストハウスりんご, 駅前コワーキングスペース"),
    )
    kind = colander.SchemaNode(
        Text(), title=_("Kind of place"), default="lodging",
        validator=colander.OneOf(list(POINT_KINDS)),
        widget=deform.widget.RadioChoiceWidget(values=list(POINT_KINDS.items())),
    )


@colander.deferred
def _site_widget(node, kw):
    return deform.widget.SelectWidget(values=[("", _("Choose"))] + list(kw["sites"]))


@colander.deferred
def _site_validator(node, kw):
    return colander.OneOf([code for code, _name in kw["sites"]])


def declaration_schema() -> colander.Schema:
    """Bind with ``sites``: (code, name) pairs of the person's active registrations."""
    schema = DeclarationSchema()
    for number in range(1, MAX_DOCUMENTS + 1):
        schema.add(colander.SchemaNode(
            deform.FileData(), name=f"document_{number}", missing=None,
            title=_("Document ${n}", mapping={"n": number}),
            description=_("PDF, JPEG or PNG: a receipt, a lodging certificate or a workspace "
                          "usage record. A clear photo is fine.") if number == 1 else None,
            widget=deform.widget.FileUploadWidget(_NoStore(), accept=DOCUMENT_ACCEPT),
        ))
    return schema


class DeclarationSchema(CSRFSchema):
    site = colander.SchemaNode(Text(), title=_("Where you stayed"),
                               widget=_site_widget, validator=_site_validator)
    first_day = colander.SchemaNode(
        colander.Date(), title=_("First day"),
        widget=deform.widget.TextInputWidget(attributes={"type": "date"}),
    )
    last_day = colander.SchemaNode(
        colander.Date(), title=_("Last day"),
        description=_("Each day from the first to the last counts as a day of stay."),
        widget=deform.widget.TextInputWidget(attributes={"type": "date"}),
    )
    note = colander.SchemaNode(
        Text(NOTE_MAX, multiline=True), title=_("Note (optional)"), missing="",
        preparer=_strip,
        validator=colander.Length(max=NOTE_MAX),
        description=_("e.g. the name of the lodging, what you did during the stay"),
        widget=deform.widget.TextAreaWidget(rows=3),
    )


def document_files(values) -> list:
    """The uploaded documents' FileData dicts, in order, without the empty slots."""
    return [values[f"document_{n}"] for n in range(1, MAX_DOCUMENTS + 1)
            if values.get(f"document_{n}")]


def row_id(text) -> int | None:
    """A row id from the form or path, or None when it cannot name a row."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= ID_MAX:
        return None
    return int(text)
