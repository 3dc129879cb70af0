"""Text fields with a length cap, for every form (issue 13: bounded input).

Every string a form takes goes through :class:`Text` (never a bare ``colander.String``):
a single-line field refuses line breaks, and every field refuses more than its
``max_length`` characters — ``LINE_MAX`` for a line and ``TEXT_MAX`` for a text area
unless the field says less. A refused value is not shown back whole: forms.py re-renders
it cut to the field's length (see ``Text.shown``), so a person keeps what they typed and
nobody gets a megabyte echoed. NUL and other control characters never reach a schema:
request_guard.py refuses them for every request.
"""
import colander
import deform

from ..i18n import _

LINE_MAX = 500
"""A single-line field without a limit of its own (names, titles, choices, tokens)."""
TEXT_MAX = 20_000
"""A text area without a limit of its own."""
EMAIL_MAX = 254
"""An email address (RFC 5321's path limit)."""
PATH_MAX = 2_000
"""A ``came_from`` path (an address a person was on)."""


def strip(value):
    return value.strip() if isinstance(value, str) else value


def text_length(value: str) -> int:
    """Characters as the browser's ``maxlength`` counted them: a line break is one,
    though forms send it as CR LF."""
    return len(value) - value.count("\r\n")


class Text(colander.String):
    """A string of at most ``max_length`` characters; one line unless ``multiline``."""

    def __init__(self, max_length=None, *, multiline=False, **kw):
        super().__init__(**kw)
        self.multiline = multiline
        self.max_length = max_length or (TEXT_MAX if multiline else LINE_MAX)

    def deserialize(self, node, cstruct):
        value = super().deserialize(node, cstruct)
        if not isinstance(value, str):
            return value
        if text_length(value) > self.max_length:
            raise colander.Invalid(node, _("At most ${max} characters.",
                                           mapping={"max": self.max_length}))
        if not self.multiline and ("\n" in value or "\r" in value):
            raise colander.Invalid(node, _("Write this on one line."))
        return value

    def shown(self, cstruct):
        """What a re-rendered form shows of a refused value: at most ``max_length``."""
        if isinstance(cstruct, str) and len(cstruct) > self.max_length:
            return cstruct[:self.max_length]
        return cstruct


def local_path(value) -> str:
    """``value`` when it is a path on this site (``/…``, not ``//host``, no backslash,
    no control character, at most PATH_MAX); otherwise empty."""
    if (isinstance(value, str) and value.startswith("/") and not value.startswith("//")
            and len(value) <= PATH_MAX and value.isprintable() and "\\" not in value):
        return value
    return ""


class LocalPath(Text):
    """Where to go after a form (``came_from``): anything but a local path is dropped
    rather than refused, so a bad link never stops a person signing in."""

    def __init__(self):
        super().__init__(PATH_MAX)

    def deserialize(self, node, cstruct):
        return local_path(cstruct if isinstance(cstruct, str) else "")

    def shown(self, cstruct):
        return local_path(cstruct)


def text_node(title=None, max_length=None, *, multiline=False, required=True, rows=None,
              widget=None, attributes=None, validator=None, min_length=None, preparer=strip,
              **kw):
    """A text field: stripped, capped (the widget's ``maxlength`` says the same),
    optional (empty) unless ``required``."""
    multiline = multiline or bool(rows) or isinstance(widget, deform.widget.TextAreaWidget)
    typ = Text(max_length, multiline=multiline)
    if widget is None:
        attrs = {"maxlength": str(typ.max_length), **(attributes or {})}
        widget = (deform.widget.TextAreaWidget(rows=rows, attributes=attrs) if typ.multiline
                  else deform.widget.TextInputWidget(attributes=attrs))
    if min_length:
        length = colander.Length(min=min_length)
        validator = colander.All(length, validator) if validator else length
    return colander.SchemaNode(
        typ, title=title, preparer=preparer, validator=validator, widget=widget,
        missing=colander.required if required else "", **kw)
