"""A registrant's own activities: the history (/my/activities, 活動履歴) and the card
code (/my/card-code, 提示用コード) staff type or scan to record attendance for them."""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..permissions import Permissions as P
from ..resources.my import MyArea
from ..services.attendance import AttendanceService, source_labels
from ..services.card_codes import CARD_CODE_MINUTES, grouped
from ..services.posters import qr_data_uri


@view_config(context=MyArea, name="activities", request_method="GET",
             renderer="attendance/my_activities.jinja2", permission=P.REGISTRANT_SELF)
def my_activities(request):
    groups = request.service(AttendanceService).history(request.identity.account)
    return {"groups": groups, "source_labels": source_labels(request.localizer.translate)}


@view_config(context=MyArea, name="card-code", request_method="GET",
             renderer="attendance/card_code.jinja2", permission=P.REGISTRANT_SELF)
def card_code(request):
    """The live code with its expiry; the page never reloads itself (WCAG 2.2.1)."""
    code = request.service(AttendanceService).card_code_for(request.identity.account)
    request.response.cache_control = "no-store"
    return {"code": grouped(code.code), "expires": code.expires_at,
            "qr": qr_data_uri(code.code), "minutes": CARD_CODE_MINUTES}


@view_config(context=MyArea, name="card-code", request_method="POST",
             permission=P.REGISTRANT_SELF)
def new_card_code(request):
    request.service(AttendanceService).card_code_for(request.identity.account, renew=True)
    return HTTPSeeOther(request.application_url + "/my/card-code")
