"""Statistics screens (関係人口の可視化): a site's staff dashboard (/s/{code}/stats, a
prefecture's with each municipality), the public open data (/s/{code}/open-data) and
the operator's national dashboard (/operator/stats), each table with its chart and a
CSV download (``….csv?table=<name>``) holding exactly the cells of the page."""
from urllib.parse import urlencode

from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config

from ..forms import flash
from ..i18n import _
from ..permissions import Permissions as P
from ..resources.operator import OperatorArea
from ..resources.site import SiteResource
from ..services.charts import chart_for
from ..services.errors import InvalidInput
from ..services.needs import NeedService
from ..services.statistics import StatisticsService, parse_period
from ..services.statistics_tables import (
    SORT_KEYS,
    cell_text,
    national_tables,
    open_data_tables,
    parse_sort,
    site_tables,
)

from ..spreadsheet import csv_bytes
from .public import page_param

SITES_PER_PAGE = 100


def _checked(parse, *args):
    """Run a parameter parser; bad parameters are a 400 page with the reason."""
    try:
        return parse(*args)
    except InvalidInput as exc:
        raise HTTPBadRequest(exc.message) from exc


def period_param(request):
    """The ``from``/``to`` months asked for, or a 400 page saying what is wrong."""
    return _checked(parse_period, request.GET.get("from"), request.GET.get("to"),
                    request.clock())


def _site_report(context, request):
    """The report of the site, or of one municipality of a prefecture (``municipality``)."""
    service = request.service(StatisticsService)
    site = context.site
    code = request.GET.get("municipality")
    if code:
        site = _checked(service.municipality_in, site, code)
    return service.site_report(site, period_param(request))


def shown_tables(tables, request):
    """Tables ready for the page: translated cells, and each one's chart."""
    translate = request.localizer.translate
    return [
        {
            "name": table.name,
            "title": translate(table.title),
            "note": translate(table.note),
            "headers": [cell_text(h, translate) for h in table.headers],
            "rows": [[cell_text(c, translate) for c in row] for row in table.rows],
            "chart": chart_for(table, translate),
        }
        for table in tables
    ]


def _csv(tables, request, filename_stem):
    name = request.GET.get("table")
    table = next((t for t in tables if t.name == name), None)
    if table is None:
        raise HTTPBadRequest(_("Unknown table. Use a download link on the statistics page."))
    return csv_download(table, request, f"{filename_stem}-{table.name}.csv")


def csv_download(table, request, filename) -> Response:
    """One table as a CSV file (UTF-8 with BOM, numbers without separators)."""
    translate = request.localizer.translate
    rows = [[cell_text(h, translate) for h in table.headers]]
    rows += [[cell_text(c, translate, grouped=False) for c in row] for row in table.rows]
    response = Response(body=csv_bytes(rows), content_type="text/csv", charset="utf-8")
    response.content_disposition = f'attachment; filename="{filename}"'
    return response


def _query(request, **extra) -> str:
    """The page's own parameters (for CSV links and sorting), with ``extra`` replaced."""
    params = {k: request.GET.get(k)
              for k in ("from", "to", "municipality", "sort", "order", "page")}
    params.update(extra)
    return urlencode({k: v for k, v in params.items() if v})


def _page(report, tables, request, **extra):
    return {
        "report": report,
        "tables": shown_tables(tables, request),
        "period": report.period,
        "query": _query(request),
        **extra,
    }


@view_config(context=SiteResource, name="stats", renderer="stats/site.jinja2",
             permission=P.STATS_VIEW, request_method="GET")
def site_stats(context, request):
    report = _site_report(context, request)
    return _page(report, site_tables(report), request, prefecture=context.site,
                 needs=request.service(NeedService).counts(report.site))


@view_config(context=SiteResource, name="stats.csv", permission=P.STATS_VIEW,
             request_method="GET", replica="always")
def site_stats_csv(context, request):
    report = _site_report(context, request)
    return _csv(site_tables(report), request, f"{report.site.code}-{report.period.first}"
                f"-{report.period.last}")


@view_config(context=SiteResource, name="open-data", renderer="stats/open_data.jinja2",
             permission=P.VIEW, request_method="GET", replica=True)
def open_data(context, request):
    report = request.service(StatisticsService).site_report(context.site, period_param(request))
    return _page(report, open_data_tables(report), request)


@view_config(context=SiteResource, name="open-data.csv", permission=P.VIEW,
             request_method="GET", replica=True)
def open_data_csv(context, request):
    report = request.service(StatisticsService).site_report(context.site, period_param(request))
    return _csv(open_data_tables(report), request,
                f"{context.site.code}-open-data-{report.period.first}-{report.period.last}")


def _national(request, shown_sites=slice(None)):
    period = period_param(request)
    sort, descending = _checked(parse_sort, request.GET.get("sort"), request.GET.get("order"))
    report = request.service(StatisticsService).national_report(period)
    tables = [] if report is None else national_tables(report, sort, descending, shown_sites)
    return period, sort, descending, report, tables


@view_config(context=OperatorArea, name="stats", renderer="stats/national.jinja2",
             permission=P.OPERATOR_VIEW, request_method="GET")
def national_stats(context, request):
    page = page_param(request)
    shown_sites = slice((page - 1) * SITES_PER_PAGE, page * SITES_PER_PAGE)
    period, sort, descending, report, tables = _national(request, shown_sites)
    return {
        "report": report,
        "tables": shown_tables(tables, request),
        "more_sites": report is not None and len(report.sites) > page * SITES_PER_PAGE,
        "period": period,
        "query": _query(request, page=None),
        "page": page,
        "descending": descending,
        "sort_links": _sort_links(request, sort, descending),
        "sorted_by": SORT_KEYS.index(sort),
    }


def _sort_links(request, sort, descending) -> dict:
    """Column heading -> URL sorting by it (the current column's link reverses it)."""
    links = {}
    for index, key in enumerate(SORT_KEYS):
        order = ("asc" if descending else "desc") if key == sort else None
        links[index] = "?" + _query(request, sort=key, order=order, page=None)
    return links


@view_config(context=OperatorArea, name="stats.csv", permission=P.OPERATOR_VIEW,
             request_method="GET", replica="always")
def national_stats_csv(context, request):
    period, _sort, _descending, report, tables = _national(request)
    return _csv(tables, request, f"national-{period.first}-{period.last}")


@view_config(context=OperatorArea, name="stats", permission=P.OPERATOR_DECIDE,
             request_method="POST")
def refresh_now(context, request):
    """Count a new snapshot now (the scheduled job does the same every few minutes)."""
    request.service(StatisticsService).refresh(request.actor)
    flash(request, _("The figures were counted again."))
    return HTTPSeeOther(request.application_url + "/operator/stats")
