"""The public national dashboard (/stats/): the page, each table as open data
(/stats/<table>.csv) and everything as one JSON document (/stats/data.json), from the
newest statistics snapshot, for anyone without signing in.

Anonymous answers are kept by the public page cache like the directory's: a new
snapshot ends them at once (``StatsSnapshot`` is one of ``public_cache.PUBLIC_MODELS``,
and the refresh job's commit tells every process), and the cache lifetime bounds them
otherwise."""
import json
from urllib.parse import urlencode

from pyramid.httpexceptions import HTTPNotFound
from pyramid.response import Response
from pyramid.view import view_config

from ..clock import to_tokyo
from ..permissions import Permissions as P
from ..public_cache import cache_publicly
from ..resources.dashboard import NationalDashboard, OpenDataTable
from ..services.dashboard import LICENCE, NO_FIGURES_YET, open_data_document, public_tables
from ..services.statistics import StatisticsService
from .stats import csv_download, period_param, shown_tables


def _report(request):
    return request.service(StatisticsService).national_report(period_param(request))


def _open_data_headers(response, report):
    """Open data may be fetched from any origin; the licence and the snapshot's time go
    with every file."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Link"] = f'<{LICENCE.url}>; rel="license"'
    if report is not None:
        response.last_modified = report.snapshot.as_of
    return response


def _query(request) -> str:
    """The chosen months, for the download links."""
    return urlencode({k: request.GET[k] for k in ("from", "to") if request.GET.get(k)})


@view_config(context=NationalDashboard, renderer="dashboard/national.jinja2",
             permission=P.VIEW, request_method="GET", replica=True)
def dashboard(context, request):
    report = _report(request)
    tables = [] if report is None else public_tables(report)
    base = request.resource_url(context)
    cache_publicly(request)
    return {
        "report": report,
        "period": report.period if report else None,
        "tables": shown_tables(tables, request),
        "csv_links": {t.name: f"{base}{t.name}.csv" for t in tables},
        "query": _query(request),
        "json_url": f"{base}data.json",
        "page_url": base,
        "licence": LICENCE,
        "no_figures": request.localizer.translate(NO_FIGURES_YET),
    }


@view_config(context=OpenDataTable, permission=P.VIEW, request_method="GET", replica=True)
def table_csv(context, request):
    report = _report(request)
    if report is None:
        return Response(status=404, content_type="text/plain", charset="utf-8",
                        text=request.localizer.translate(NO_FIGURES_YET))
    table = next((t for t in public_tables(report) if t.name == context.table_name), None)
    if table is None:
        raise HTTPNotFound()
    as_of = to_tokyo(report.snapshot.as_of).strftime("%Y%m%d-%H%M")
    response = csv_download(table, request, f"furusato-national-{table.name}-{as_of}.csv")
    cache_publicly(request)
    return _open_data_headers(response, report)


@view_config(context=NationalDashboard, name="data.json", permission=P.VIEW,
             request_method="GET", replica=True)
def data_json(context, request):
    report = _report(request)
    document = open_data_document(report, request.localizer.translate,
                                  request.resource_url(context))
    response = Response(
        body=json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8"),
        content_type="application/json", charset="utf-8",
    )
    cache_publicly(request)
    return _open_data_headers(response, report)
