"""Open statistics in the API (no token): the national dashboard's open data (/stats/) and
a site's open-data tables (/s/{code}/open-data) — the same documents and tables the pages
and their CSV files show, from the same reports, so the three cannot disagree."""
from pyramid.view import view_config

from ..permissions import Permissions as P
from ..services.dashboard import open_data_document, tables_json
from ..services.statistics import StatisticsService, default_period
from ..services.statistics_tables import open_data_tables
from .api_shapes import public_site, site_json, url_for, when


@view_config(route_name="api_stats_national", request_method="GET", renderer="json",
             openapi=True, replica=True, permission=P.VIEW)
def national_stats(request):
    report = request.service(StatisticsService).national_report(default_period(request.clock()))
    return open_data_document(report, request.localizer.translate, url_for(request, "stats", ""))


@view_config(route_name="api_site_stats", request_method="GET", renderer="json",
             openapi=True, replica=True, permission=P.VIEW)
def site_stats(request):
    site = public_site(request)
    report = request.service(StatisticsService).site_report(site, default_period(request.clock()))
    return {"site": site_json(request, site), "as_of": when(report.as_of),
            "counted": report.source,
            "period": {"first": report.period.first, "last": report.period.last},
            "source": url_for(request, "s", site.code, "open-data"),
            "tables": tables_json(open_data_tables(report), request.localizer.translate)}
