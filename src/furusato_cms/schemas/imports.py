"""The upload form of earlier activity records (national template, .xlsx or .csv)."""
import colander
import deform

from ..forms import CSRFSchema
from ..i18n import _

ACCEPTED = ".xlsx,.csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,text/csv"


class _NoTempStore(dict):
    """deform's upload widget wants a store for showing a file again; an import keeps
    none (the file is read once, during the request)."""

    def preview_url(self, uid):
        return None


@colander.deferred
def upload_widget(node, kw):
    return deform.widget.FileUploadWidget(_NoTempStore(), accept=ACCEPTED)


class ImportUploadSchema(CSRFSchema):
    upload = colander.SchemaNode(
        deform.FileData(), title=_("File of activity records"), widget=upload_widget,
        description=_("The national template (担い手活動実績記録用様式) saved as an Excel "
                      "workbook (.xlsx) or as CSV (UTF-8 or Shift_JIS)."),
    )
