"""The top page (/) for someone who has never heard of ふるさと住民登録: what it is, basic and
premium, three steps to register, featured activities, the national counters of the public
dashboard, then the directory of participating local governments (searchable, paged)."""
from pyramid.httpexceptions import HTTPBadRequest
from pyramid.view import view_config

from ..i18n import _
from ..localgov import PREFECTURES
from ..permissions import Permissions as P
from ..public_cache import cache_publicly
from ..resources import Root
from ..services.activity_search import ActivitySearch
from ..services.directory import SiteDirectory
from ..services.statistics import AIM_PEOPLE, AIM_REGISTRATIONS, StatisticsService
from .public import page_param

FEATURED = 3


def national_counters(request) -> dict | None:
    """The dashboard's headline figures against the national aims, from the newest
    snapshot (None before the first count)."""
    counters = request.service(StatisticsService).national_counters()
    if counters is None:
        return None
    return {"people": counters.real_people, "aim_people": AIM_PEOPLE,
            "registrations": counters.registrations_including_derived,
            "aim_registrations": AIM_REGISTRATIONS,
            "premium": counters.premium_registrations, "as_of": counters.as_of}


@view_config(context=Root, renderer="public/home.jinja2", permission=P.VIEW, replica=True)
def home(request):
    query = request.GET.get("q", "")[:100]
    prefecture = request.GET.get("pref") or None
    if prefecture is not None and prefecture not in {code for code, *_ in PREFECTURES}:
        raise HTTPBadRequest(_("Unknown prefecture."))
    result = request.service(SiteDirectory).listing(query, prefecture, page_param(request))
    cache_publicly(request)
    return {"result": result, "q": query, "pref": prefecture, "prefectures": PREFECTURES,
            "featured": request.service(ActivitySearch).featured(FEATURED),
            "counters": national_counters(request)}
