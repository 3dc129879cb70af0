"""Activities across the country (/activities/, 全国の担い手活動さがし): a public search form
that works without JavaScript (GET, bookmarkable), one page of results at a time continued
by a cursor ("next"). Not kept by the public page cache: places left change with every
application, which is no content change."""
from datetime import date
from urllib.parse import urlencode

from pyramid.httpexceptions import HTTPBadRequest
from pyramid.view import view_config

from ..i18n import _
from ..interests import INTERESTS
from ..localgov import PREFECTURES
from ..permissions import Permissions as P
from ..resources import Root
from ..services.activity_search import MODES, ActivityQuery, ActivitySearch
from ..services.errors import InvalidInput
from ..services.paging import BadCursor

PAGE = "public/activities.jinja2"
PAGE_SIZE = 20
MODE_LABELS = {"online": _("Online"), "onsite": _("On site")}
BAD_DATE = _("Enter the date as YYYY-MM-DD, e.g. 2026-12-24.")


def _date(raw, field):
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(BAD_DATE, field=field) from None


def query_from(params) -> ActivityQuery:
    """The search form's (or the API's) parameters as a query; InvalidInput names the
    field that is wrong."""
    return ActivityQuery(
        keyword=params.get("q", "")[:200],
        prefecture=params.get("prefecture") or None,
        tag=params.get("tag") or None,
        date_from=_date(params.get("from"), "from"),
        date_to=_date(params.get("to"), "to"),
        mode=params.get("mode") or None,
        designated=params.get("premium") in ("1", "true", "on", True),
        places_left=params.get("places") in ("1", "true", "on", True),
    )


@view_config(context=Root, name="activities", renderer=PAGE, permission=P.VIEW,
             replica=True)
def activities(request):
    values = {key: request.GET.get(key, "") for key in
              ("q", "prefecture", "tag", "from", "to", "mode", "premium", "places")}
    page = {"values": values, "prefectures": PREFECTURES, "interests": INTERESTS,
            "modes": MODES, "mode_labels": MODE_LABELS, "errors": {}, "found": None,
            "next_url": None}
    try:
        query = query_from(request.GET)
        found = request.service(ActivitySearch).search(query, cursor=request.GET.get("cursor"),
                                                 limit=PAGE_SIZE)
    except InvalidInput as error:
        request.response.status = 400
        page["errors"] = {error.field: request.localizer.translate(error.message)}
        return page
    except BadCursor:
        raise HTTPBadRequest(_("This link to the next page is not valid. Search again."))
    page["found"] = found
    if found.next_cursor:
        kept = {k: v for k, v in values.items() if v}
        page["next_url"] = (f"{request.application_url}/activities/?"
                            + urlencode({**kept, "cursor": found.next_cursor}))
    return page
