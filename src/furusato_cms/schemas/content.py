"""Forms for editing content: the introduction page, posts, workflow steps and images.

Lengths, kinds and tags are checked again by ``PublishingService`` (the rule lives
there); the schemas only shape the input. Dates are typed in Japan time (the
browser's date-time picker, or ``YYYY-MM-DD HH:MM`` by hand) and stored in UTC.
"""
from datetime import datetime, timezone

import colander
import deform

from ..clock import TOKYO
from ..forms import CSRFSchema
from ..i18n import _
from ..interests import INTERESTS, POST_KIND_LABELS
from ..models.content import POST_KINDS
from ..resources.site import find_site_resource
from ..services.images import ALT_MAX
from ..services.publishing import BODY_MAX, SLUG_MAX, SUMMARY_MAX, TITLE_MAX
from .fields import Text
from .fields import text_node as _text

DATETIME_INPUT_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")
MARKDOWN_HELP = _(
    "Write in Markdown: a line starting with ## is a heading, lines starting with - make a "
    "list, [text](https://example.jp) makes a link, and ![description](/s/…/images/1) shows "
    "an uploaded image. An empty line starts a new paragraph."
)


TOOLBAR_LABELS = {
    "h2": _("Heading"), "h3": _("Subheading"), "bold": _("Bold"), "ul": _("Bulleted list"),
    "ol": _("Numbered list"), "link": _("Link"), "image": _("Image"), "table": _("Table"),
}
"""The formatting toolbar's buttons (static/markdown-editor.js does what they say)."""
TOOLBAR_SAMPLES = {
    "bold": _("bold text"), "link": _("link text"), "image": _("description of the image"),
    "table": _("Heading|Heading|Cell|Cell"),
}
"""Placeholder text the buttons insert, in the editor's language."""


class MarkdownWidget(deform.widget.TextAreaWidget):
    """A Markdown textarea with a formatting toolbar and a live preview. Both are in the
    page but hidden until static/markdown-editor.js shows them, so without JavaScript it
    is the plain textarea; what is stored is always the Markdown text."""

    template = "markdown_textarea"
    preview_url = ""
    images_url = ""
    script_url = ""
    labels = {}
    samples = {}


def markdown_widget(area: str, rows: int = 16):
    """A deferred ``MarkdownWidget`` whose preview is rendered by ``/s/{code}/{area}/
    markdown-preview`` (allowed to whoever may edit in that area)."""

    @colander.deferred
    def widget(node, kw):
        request = kw["request"]
        translate = request.localizer.translate
        site = find_site_resource(request.context)
        return MarkdownWidget(
            rows=rows,
            preview_url=request.resource_path(site, area, "markdown-preview"),
            images_url=translate(_("image address: copy it from the image upload page")),
            script_url=request.static_url("furusato_cms:static/markdown-editor.js"),
            labels={key: translate(label) for key, label in TOOLBAR_LABELS.items()},
            samples={key: translate(text) for key, text in TOOLBAR_SAMPLES.items()},
            preview_title=translate(_("Preview")),
            toolbar_title=translate(_("Formatting")),
        )
    return widget


class TokyoDateTime(colander.SchemaType):
    """A moment typed in Japan time; comes out as an aware UTC datetime."""

    def serialize(self, node, appstruct):
        if appstruct in (colander.null, None):
            return colander.null
        return appstruct.astimezone(TOKYO).strftime("%Y-%m-%dT%H:%M")

    def deserialize(self, node, cstruct):
        if cstruct in (colander.null, None) or not str(cstruct).strip():
            return colander.null
        text = str(cstruct).strip()
        for fmt in DATETIME_INPUT_FORMATS:
            try:
                local = datetime.strptime(text, fmt)
            except ValueError:
                continue
            return local.replace(tzinfo=TOKYO).astimezone(timezone.utc)
        raise colander.Invalid(
            node, _("Enter the date and time as YYYY-MM-DD HH:MM (Japan time), "
                    "e.g. 2026-12-01 09:00.")
        )


def _moment(title, description):
    return colander.SchemaNode(
        TokyoDateTime(),
        title=title,
        description=description,
        missing=None,
        widget=deform.widget.TextInputWidget(
            attributes={"type": "datetime-local", "placeholder": "2026-12-01 09:00"}
        ),
    )


@colander.deferred
def _kind_widget(node, kw):
    translate = kw["request"].localizer.translate
    return deform.widget.SelectWidget(
        values=[(kind, translate(POST_KIND_LABELS[kind])) for kind in POST_KINDS]
    )


@colander.deferred
def _tags_widget(node, kw):
    translate = kw["request"].localizer.translate
    return deform.widget.CheckboxChoiceWidget(
        values=[(key, translate(label)) for key, label in INTERESTS.items()], inline=True,
        item_css_class="chip-choice",
    )


def _version_node():
    return colander.SchemaNode(
        colander.Integer(),
        widget=deform.widget.HiddenWidget(),
        missing=None,
    )


def _body_node(title):
    return _text(title, BODY_MAX, required=False, description=MARKDOWN_HELP,
                 widget=markdown_widget("posts"), multiline=True)


class PostSchema(CSRFSchema):
    """An existing post (the slug is fixed once created, so shared links keep working)."""

    title = _text(_("Title"), TITLE_MAX)
    kind = colander.SchemaNode(Text(), title=_("Kind"), widget=_kind_widget)
    tags = colander.SchemaNode(
        colander.Set(), title=_("Tags of interest"), missing=(), widget=_tags_widget,
        description=_("People who chose these interests will find the post more easily."),
    )
    summary = _text(_("Summary"), SUMMARY_MAX, required=False,
                    description=_("One or two sentences shown in lists."),
                    widget=deform.widget.TextAreaWidget(rows=3))
    body = _body_node(_("Text"))
    publish_at = _moment(_("Show from (Japan time)"),
                         _("Leave empty to show as soon as it is published."))
    expire_at = _moment(_("Show until (Japan time)"), _("Leave empty to keep it shown."))
    expected_version = _version_node()


def post_schema(*, new: bool):
    """The post form; a new post also asks for its address (slug), right after the title."""
    schema = PostSchema()
    if new:
        del schema["expected_version"]
        slug = _text(
            _("Address (slug)"), SLUG_MAX, required=False,
            description=_("Lower-case letters, digits and hyphens, used in the page address, "
                          "e.g. apple-harvest-2026. Leave empty to use today's date."),
        )
        slug.name = "slug"
        schema.insert(2, slug)
    return schema


class IntroSchema(CSRFSchema):
    title = _text(_("Title"), TITLE_MAX)
    body = _body_node(_("Introduction text"))
    expected_version = _version_node()


class TransitionSchema(CSRFSchema):
    to_state = colander.SchemaNode(Text(), validator=colander.OneOf(
        ("draft", "review", "published", "archived")))
    comment = _text(_("Comment"), 2000, required=False, multiline=True)


class RestoreSchema(CSRFSchema):
    expected_version = _version_node()


class _RequestTempStore(dict):
    """deform's upload widget wants a store for re-displaying a file; we keep none
    across requests (the browser asks for the file again, which is what people expect)."""

    def preview_url(self, uid):
        return None


@colander.deferred
def _upload_widget(node, kw):
    return deform.widget.FileUploadWidget(
        _RequestTempStore(), accept="image/jpeg,image/png,image/webp,image/gif"
    )


class ImageUploadSchema(CSRFSchema):
    upload = colander.SchemaNode(
        deform.FileData(), title=_("Image file"), widget=_upload_widget,
        description=_("JPEG, PNG, WebP or GIF. Large photos are made smaller automatically; "
                      "location data (GPS) and other camera data are removed."),
    )
    alt_text = _text(
        _("Description of the image (alt text)"), ALT_MAX,
        description=_("Say what the picture shows, for people who use screen readers, "
                      "e.g. \"Volunteers harvesting apples in an orchard\"."),
    )
