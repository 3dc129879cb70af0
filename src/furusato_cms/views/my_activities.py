"""A registrant's own activities: the history (/my/activities, 活動履歴) and the
short-lived code staff scan to record attendance for them (/my/card-code)."""
from pyramid.view import view_config

from ..permissions import Permissions as P
from ..resources.my import MyArea
from ..services.attendance import SOURCE_LABELS, AttendanceService
from ..services.checkin_tokens import CARD_TOKEN_MINUTES
from ..services.posters import qr_data_uri

REFRESH_SECONDS = (CARD_TOKEN_MINUTES - 1) * 60
"""The card page reloads itself (no script) before its code expires."""


@view_config(context=MyArea, name="activities", request_method="GET",
             renderer="attendance/my_activities.jinja2", permission=P.REGISTRANT_SELF)
def my_activities(request):
    groups = request.service(AttendanceService).history(request.identity.account)
    return {"groups": groups, "source_labels": SOURCE_LABELS}


@view_config(context=MyArea, name="card-code", request_method="GET",
             renderer="attendance/card_code.jinja2", permission=P.REGISTRANT_SELF)
def card_code(request):
    token, expires = request.service(AttendanceService).card_token_for(request.identity.account)
    request.response.cache_control = "no-store"
    return {"token": token, "expires": expires, "qr": qr_data_uri(token),
            "refresh_seconds": REFRESH_SECONDS}
