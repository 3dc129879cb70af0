"""deform + colander wiring: translated messages, our templates, CSRF in every form,
and service errors shown as field errors (the Substance D pattern).

Only a form with a file field is sent as multipart (request_guard.py gives such bodies
the larger upload limit), and a refused form never shows a value back longer than its
field allows (schemas/fields.py)."""
from dataclasses import dataclass

import colander
import deform
from pyramid.csrf import get_csrf_token
from pyramid.threadlocal import get_current_request

from .schemas.fields import LINE_MAX, Text
from .services.errors import Conflict, NotAllowed, ServiceError


def _translator(term):
    request = get_current_request()
    if request is None:
        return term.interpolate() if hasattr(term, "interpolate") else term
    return request.localizer.translate(term)


@colander.deferred
def _deferred_csrf_token(node, kw):
    return get_csrf_token(kw["request"])


class CSRFSchema(colander.Schema):
    """Base of every form schema; Pyramid itself checks the token on unsafe methods."""

    csrf_token = colander.SchemaNode(
        Text(),
        widget=deform.widget.HiddenWidget(),
        default=_deferred_csrf_token,
        missing=colander.drop,
    )


def takes_files(schema) -> bool:
    return any(isinstance(node.typ, deform.FileData) or takes_files(node)
               for node in schema.children)


def make_form(request, schema, *, buttons=("save",), action="", formid="deform",
              **kw) -> deform.Form:
    return deform.Form(schema.bind(request=request, **kw), buttons=buttons, action=action,
                       formid=formid, multipart=takes_files(schema))


def _cut_to_length(node, cstruct):
    """The submitted values as they are shown again: none longer than its field allows
    (what is over the limit was refused, and is not sent back)."""
    if isinstance(cstruct, dict):
        return {name: _cut_to_length(node.get(name), value) if node.get(name) else value
                for name, value in cstruct.items()}
    if isinstance(cstruct, (list, tuple)) and node.children:
        return [_cut_to_length(node.children[0], value) for value in cstruct]
    if hasattr(node.typ, "shown"):
        return node.typ.shown(cstruct)
    return cstruct[:LINE_MAX] if isinstance(cstruct, str) else cstruct


def validate(request, form) -> dict:
    """Validate the POSTed form; raises deform.ValidationFailure to re-render with messages."""
    try:
        appstruct = form.validate(request.POST.items())
    except deform.ValidationFailure as failure:
        failure.cstruct = form.cstruct = _cut_to_length(form.schema, failure.cstruct)
        raise
    form.cstruct = _cut_to_length(form.schema, form.cstruct)
    appstruct.pop("csrf_token", None)
    return appstruct


def show_error(form, message, field=None):
    """Put a rule's refusal on the form (on a field when named) and return the markup."""
    top = colander.Invalid(form.schema, None if field else message)
    if field and field in [child.name for child in form.schema.children]:
        node = form.schema[field]
        top.add(colander.Invalid(node, message), form.schema.children.index(node))
    elif field:
        top.msg = message
    form.widget.handle_error(form, top)
    return form.render()


def includeme(config):
    search_path = (
        "furusato_cms:templates/deform",
        "deform:templates",
    )
    from pyramid.path import AssetResolver

    resolver = AssetResolver()
    paths = [resolver.resolve(p).abspath() for p in search_path]
    deform.Form.set_zpt_renderer(paths, translator=_translator)


ERROR_STATUS = {NotAllowed: 403, Conflict: 409}


@dataclass(frozen=True)
class Outcome:
    """What a submitted form led to: the action's result, or the form again with messages."""

    result: object = None
    form_html: str | None = None

    @property
    def failed(self) -> bool:
        return self.form_html is not None


def refusal_status_of(exc: ServiceError) -> int:
    """403 for a rule that does not allow it, 409 for a conflict, 400 for anything else —
    including specialised refusals (e.g. a bad card code is bad input, shown with 400)."""
    return ERROR_STATUS.get(type(exc), 400)


def submit(request, form, action, *, refusal_status=None) -> Outcome:
    """Validate the POSTed form and run ``action(values)``.

    Bad input re-renders the form with field messages (400); a rule the service refuses
    is shown on the form too, with 403 (not allowed) or 409 (someone changed it first),
    or with ``refusal_status`` for every refusal when a screen gives one."""
    try:
        return Outcome(result=action(validate(request, form)))
    except deform.ValidationFailure as exc:
        request.response.status_int = 400
        return Outcome(form_html=exc.render())
    except ServiceError as exc:
        request.response.status_int = refusal_status or refusal_status_of(exc)
        return Outcome(form_html=show_error(form, exc.message, exc.field))


def button(request, name, title, **kw) -> deform.Button:
    return deform.Button(name, title=request.localizer.translate(title), **kw)


def flash(request, message):
    """Flash messages live in the cookie session as plain text, so translate first."""
    request.session.flash(request.localizer.translate(message))
