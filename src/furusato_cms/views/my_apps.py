"""The apps a registrant connected (/my/apps, 連携しているアプリ): which app, who runs it,
what it may do and since when; revoking one withdraws the consent and ends its tokens at
once."""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..forms import flash
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.my import MyArea
from ..services.oauth.consents import ConsentService
from ..services.oauth.scopes import SCOPES


@view_config(context=MyArea, name="apps", request_method="GET", renderer="my_apps.jinja2",
             permission=P.REGISTRANT_SELF)
def my_apps(request):
    return {"apps": request.service(ConsentService).apps(request.identity.account),
            "all_scopes": SCOPES}


@view_config(context=MyArea, name="apps", request_method="POST", permission=P.REGISTRANT_SELF)
def revoke_app(request):
    revoked = request.service(ConsentService).revoke(
        request.identity.account, request.POST.get("client_id", "")[:64])
    flash(request, _("The app can no longer use your account.") if revoked
          else _("That app was not connected."))
    return HTTPSeeOther(request.application_url + "/my/apps")
