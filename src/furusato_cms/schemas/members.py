"""The upload form of a member list (会員名簿): the file, the site's own words for the
invitation, and the attestation that the site may contact these people."""
import colander
import deform

from ..forms import CSRFSchema
from ..i18n import _
from .fields import text_node
from .imports import upload_widget
from .policies import consent_node


@colander.deferred
def _attest_title(node, kw):
    return kw["attestation"]


class MemberListSchema(CSRFSchema):
    upload = colander.SchemaNode(
        deform.FileData(), title=_("Member list"), widget=upload_widget,
        description=_("An Excel workbook (.xlsx) or CSV file (UTF-8 or Shift_JIS) with the "
                      "column names in the first row."),
    )
    message = text_node(_("A few words from the site (optional)"), 1000, rows=4,
                        required=False,
                        description=_("Put at the top of the invitation, e.g. how the club "
                                      "and the town are linked."))
    attest = consent_node("attest", _attest_title,
                          _("Tick the box to confirm that the site may contact these people."))
