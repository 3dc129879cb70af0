"""The site admin's form for the site's look: accent colour, logo, header image."""
import colander
import deform

from ..forms import CSRFSchema
from ..i18n import _
from ..services.images import ALT_MAX
from .content import _upload_widget
from .fields import text_node


def _flag(title):
    return colander.SchemaNode(colander.Boolean(), title=title, missing=False,
                               widget=deform.widget.CheckboxWidget())


def _file(title, description):
    return colander.SchemaNode(deform.FileData(), title=title, description=description,
                               widget=_upload_widget, missing=None)


class SiteBrandingSchema(CSRFSchema):
    accent_color = text_node(
        _("Accent colour"), 7, required=False,
        description=_("The colour of the header and the buttons, as # and six hexadecimal "
                      "digits (e.g. #1d5b3a). It must be dark enough for white text "
                      "(contrast 4.5:1, WCAG AA). Leave it empty for the theme's colour."),
        attributes={"placeholder": "#1d5b3a", "autocomplete": "off", "spellcheck": "false"},
    )
    logo = _file(_("Logo"), _("Shown beside the site's name in the header; a square picture "
                              "works best. JPEG, PNG, WebP or GIF."))
    remove_logo = _flag(_("Remove the logo"))
    header_image = _file(_("Header image"),
                         _("A wide photo of the town for the top of the site's page."))
    header_alt = text_node(
        _("Description of the header image (alt text)"), ALT_MAX, required=False,
        description=_("Say what the photo shows, e.g. \"Apple orchards below the northern "
                      "Alps\". Needed when you upload a header image."))
    remove_header_image = _flag(_("Remove the header image"))
