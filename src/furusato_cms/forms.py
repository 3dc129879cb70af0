"""deform + colander wiring: translated messages, our templates, CSRF in every form,
and service errors shown as field errors (the Substance D pattern)."""
import colander
import deform
from pyramid.csrf import get_csrf_token
from pyramid.threadlocal import get_current_request


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
        colander.String(),
        widget=deform.widget.HiddenWidget(),
        default=_deferred_csrf_token,
        missing=colander.drop,
    )


def make_form(request, schema, *, buttons=("save",), action="", **kw) -> deform.Form:
    return deform.Form(schema.bind(request=request, **kw), buttons=buttons, action=action)


def validate(request, form) -> dict:
    """Validate the POSTed form; raises deform.ValidationFailure to re-render with messages."""
    appstruct = form.validate(request.POST.items())
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
