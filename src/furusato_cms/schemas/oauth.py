"""The form that registers an app (API client): who runs it, what kind it is, where it
may send people back, and what it may do. The rules behind it are in
services/oauth/clients.py, which says why a value is refused."""
import colander
import deform

from ..forms import CSRFSchema
from ..i18n import _
from ..services.oauth.clients import AUTH_METHOD_LABELS, KIND_LABELS, MAX_REDIRECT_URIS
from ..services.oauth.scopes import SCOPES, SITE
from .fields import Text, text_node


@colander.deferred
def _kind_widget(node, kw):
    translate = kw["request"].localizer.translate
    return deform.widget.RadioChoiceWidget(
        values=[(key, translate(label)) for key, label in KIND_LABELS.items()])


@colander.deferred
def _auth_widget(node, kw):
    translate = kw["request"].localizer.translate
    return deform.widget.RadioChoiceWidget(
        values=[(key, translate(label)) for key, label in AUTH_METHOD_LABELS.items()])


@colander.deferred
def _scopes_widget(node, kw):
    """A site's apps may hold the site scopes too; national apps only people's scopes."""
    translate = kw["request"].localizer.translate
    return deform.widget.CheckboxChoiceWidget(values=[
        (name, f"{name}: {translate(scope.title)}") for name, scope in SCOPES.items()
        if kw["for_site"] or scope.audience != SITE])


@colander.deferred
def _scopes_validator(node, kw):
    allowed = [name for name, scope in SCOPES.items() if kw["for_site"] or scope.audience != SITE]
    return colander.All(colander.Length(min=1, min_err=_("Choose at least one scope.")),
                        colander.ContainsOnly(allowed))


def redirect_uri_lines(value: str) -> list:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


class ClientSchema(CSRFSchema):
    name = text_node(_("Name of the app"), 100,
                     description=_("Shown to people when the app asks for their consent."))
    owner_name = text_node(_("Provider"), 200,
                           description=_("Who runs the app (a company, or the local "
                                         "government itself), shown on the consent screen."))
    kind = colander.SchemaNode(Text(20), title=_("Kind"), widget=_kind_widget,
                               validator=colander.OneOf(list(KIND_LABELS)))
    auth_method = colander.SchemaNode(
        Text(20), title=_("How the app proves itself"), widget=_auth_widget,
        validator=colander.OneOf(list(AUTH_METHOD_LABELS)), missing="none",
        description=_("A public app: none. A confidential one: a secret (shown once) or "
                      "its public keys for signed JWTs."))
    redirect_uris = text_node(
        _("Redirect URIs"), 5000, rows=4, required=False,
        description=_("One per line, at most ${n}: https://…, http://127.0.0.1:PORT/… for "
                      "apps on PCs, or an app scheme such as jp.example.app:/callback. "
                      "Matched exactly. Leave empty for a server that only uses client "
                      "credentials.", mapping={"n": MAX_REDIRECT_URIS}))
    scopes = colander.SchemaNode(colander.Set(), title=_("Scopes the app may ask for"),
                                 widget=_scopes_widget, validator=_scopes_validator)
    jwks = text_node(_("Public keys (JWK Set) for private_key_jwt"), 20_000, rows=4,
                     required=False)
