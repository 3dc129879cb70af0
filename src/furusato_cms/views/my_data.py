"""A registrant's own data: download everything held about them (/my/data.json) and
delete the account (/my/delete, 退会). What deletion removes and keeps is set out
in services/registrant_accounts."""
import json

import deform
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.response import Response
from pyramid.security import forget
from pyramid.view import view_config

from ..forms import flash, make_form
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.my import MyArea
from ..schemas.registrant import DeleteAccountSchema
from ..services.personal_data import PersonalDataExport
from ..services.registrant_accounts import RegistrantAccountService
from .auth import attempt

EXPORT_FILENAME = "furusato-my-data.json"


@view_config(context=MyArea, name="data.json", request_method="GET",
             permission=P.REGISTRANT_SELF)
def my_data(request):
    data = request.service(PersonalDataExport).export(request.identity.account)
    response = Response(
        body=json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"),
        content_type="application/json",
        charset="utf-8",
    )
    response.content_disposition = f'attachment; filename="{EXPORT_FILENAME}"'
    response.cache_control.no_store = True
    return response


def _delete_form(request):
    title = request.localizer.translate(_("Delete my account"))
    return make_form(request, DeleteAccountSchema(),
                     buttons=(deform.Button("delete", title),))


@view_config(context=MyArea, name="delete", request_method="GET",
             renderer="registrant/delete.jinja2", permission=P.REGISTRANT_SELF)
def delete_page(request):
    return {"form": _delete_form(request).render()}


@view_config(context=MyArea, name="delete", request_method="POST",
             renderer="registrant/delete.jinja2", permission=P.REGISTRANT_SELF)
def delete_account(request):
    outcome = attempt(request, _delete_form(request), lambda data: request.service(
        RegistrantAccountService).delete_account(
            request.identity.account, data["password"], request.remote_addr))
    if outcome.failed:
        return {"form": outcome.form_html}
    request.session.invalidate()
    flash(request, _("Your account has been deleted. Thank you for your support."))
    return HTTPSeeOther(request.application_url + "/", headers=forget(request))
