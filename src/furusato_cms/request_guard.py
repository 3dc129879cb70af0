"""Bounded requests (issue 13): bodies over their kind's limit are refused unread, and
control characters in parameters are refused before any view or query sees them.

- Body size: a form without files (urlencoded, or anything not multipart) may send
  ``form_body_max_bytes``; a multipart form (only forms with a file field are multipart,
  see forms.py) ``upload_body_limit``. waitress buffers the body before the application
  runs (its ``max_request_body_size`` in the ini is the outer bound), so the check here
  is what keeps an oversized body from being copied, parsed or echoed: ``InputGuard``
  swaps it for an empty one and the request ends as a 413 page in the site's look and
  the person's language. It wraps the whole application because pyramid_retry copies
  the body before any tween runs.
- Parameters: NUL and other control characters in the path or the query string (where
  not even a line break belongs) or in a form field (where a text area may send CR, LF
  and TAB) are refused with a 400 page: PostgreSQL refuses NUL in text, headers refuse
  line breaks, and no person types them. Text that is not UTF-8 is refused the same way.
"""
import io
import re

from pyramid.events import NewRequest
from pyramid.httpexceptions import HTTPBadRequest, HTTPRequestEntityTooLarge

from .i18n import _

REFUSED_BODY = "furusato.refused_body"
"""WSGI environ key: the limit a body refused by InputGuard was over."""
REFUSED_PATH = "furusato.refused_path"
"""WSGI environ key: the path was not UTF-8 (InputGuard put "/" in its place, so the 400
page, whose links use the path, can be drawn)."""
PARSED_QUERY = "webob._parsed_query_vars"
"""Where WebOb keeps ``request.GET``, a dict that refers back to the environ: the environ,
and all a request left in it (the signed-in identity, its reads), would wait for the
garbage collector's cycle search instead of going at once (issue 16: about 90 objects a
signed-in page, collected in pauses of 5–13 ms under load). Dropped once the app answered."""
QUERY_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
FORM_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def body_limit(environ, settings) -> int:
    multipart = (environ.get("CONTENT_TYPE") or "").lower().startswith("multipart/")
    return settings.upload_body_limit if multipart else settings.form_body_max_bytes


def _utf8(text: str) -> bool:
    try:
        text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return False
    return True


class InputGuard:
    """WSGI middleware: a body over its limit is replaced by an empty one, unread, and a
    path that is not UTF-8 by "/"; both are marked, and refused by ``refuse_bad_input``.
    Once the app has answered, the parsed query leaves the environ (``PARSED_QUERY``)."""

    def __init__(self, app, settings):
        self.app = app
        self.settings = settings

    def __getattr__(self, name):
        """The router's attributes (``registry``) stay reachable through the wrapper."""
        return getattr(self.app, name)

    def __call__(self, environ, start_response):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = body_limit(environ, self.settings)
        if length > limit:
            environ[REFUSED_BODY] = limit
            environ["CONTENT_LENGTH"] = "0"
            environ["CONTENT_TYPE"] = ""
            environ["wsgi.input"] = io.BytesIO()
        if not _utf8(environ.get("PATH_INFO", "")):
            environ[REFUSED_PATH] = True
            environ["PATH_INFO"] = "/"
        try:
            return self.app(environ, start_response)
        finally:
            environ.pop(PARSED_QUERY, None)


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.2f}".rstrip("0").rstrip(".")


class BodyTooLarge(HTTPRequestEntityTooLarge):
    """The 413 raised for a refused body; the error view shows ``message``."""

    def __init__(self, message):
        super().__init__()
        self.message = message


def _bad_characters(params, pattern) -> bool:
    return any(isinstance(value, str) and pattern.search(value)
               for key_value in params.items() for value in key_value)


def refuse_bad_input(event):
    request = event.request
    if REFUSED_BODY in request.environ:
        raise BodyTooLarge(_(
            "What was sent is larger than ${mb} MB, so it was not read. Send less at once "
            "(for files: fewer or smaller ones).",
            mapping={"mb": _megabytes(request.environ[REFUSED_BODY])}))
    try:
        bad = REFUSED_PATH in request.environ or bool(
            QUERY_CONTROL.search(request.path_info)) or _bad_characters(
            request.GET, QUERY_CONTROL) or (
            request.method == "POST" and _bad_characters(request.POST, FORM_CONTROL))
    except UnicodeDecodeError:
        bad = True
    if bad:
        raise HTTPBadRequest(detail=_(
            "What was sent contains control characters (such as NUL or a line break where "
            "none belongs) or text that is not UTF-8. Remove them and try again."))


def includeme(config):
    config.add_subscriber(refuse_bad_input, NewRequest)
