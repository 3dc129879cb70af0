"""The public national dashboard (全国の関係人口の可視化, /stats/) and its open data.

What anyone may see of the nation: real people and registrations against the 10M / 100M
aims — registrations (延べ) with and without the prefecture registrations derived from a
municipality's (rule 8) — by prefecture, by 類型, premium and long-stayers, month by
month; the same tables as CSV files and one JSON document, under the government's
open-data licence (公共データ利用規約（第1.0版）, compatible with CC BY 4.0).

It reads only the newest statistics snapshot, through ``StatisticsService.national_report``
and the table builders of ``services.statistics_tables`` that the operator's page uses too, so
a visitor never makes the database count registrations and both pages agree as of the
same snapshot. Only aggregates are public: no site's fee status or attendance, and the
figures from verified identity data keep their "<10" suppression.
"""
from collections import defaultdict
from dataclasses import dataclass

from ..clock import to_tokyo
from ..i18n import _
from ..localgov import PREFECTURES
from .statistics import AIM_PEOPLE, AIM_REGISTRATIONS, NationalReport
from .statistics_tables import (
    WITHOUT_DERIVED,
    WITH_DERIVED,
    Table,
    age_gender_table,
    aims_table,
    cell_text,
    connections_table,
    growth_table,
    home_prefectures_table,
    national_summary_table,
    national_trend_table,
    types_table,
    without_derived,
)



@dataclass(frozen=True)
class Licence:
    name: str
    short_name: str
    url: str
    compatible_with: str
    compatible_url: str


LICENCE = Licence(
    name="公共データ利用規約（第1.0版）",
    short_name="PDL1.0",
    url="https://www.digital.go.jp/resources/open_data/public_data_license_v1.0",
    compatible_with="CC BY 4.0",
    compatible_url="https://creativecommons.org/licenses/by/4.0/deed.ja",
)
"""The Digital Agency's licence for public bodies' data (2024), compatible with CC BY 4.0."""

TITLE = _("Relationship population of Japan")
NO_FIGURES_YET = _("No figures have been counted yet. They appear here after the first "
                   "count, which runs every few minutes.")


def prefectures_table(report: NationalReport) -> Table:
    """The prefectures taking part (an active site or any registration), most real people
    first: real people registered with the prefecture or any municipality in it, their
    registrations with and without the derived ones, premium, long-stayers, and the sites
    taking part now."""
    totals = defaultdict(lambda: defaultdict(int))
    for site, figures, _fee in report.sites:
        total = totals[site.prefecture_code]
        total["with"] += figures.value("people")
        total["without"] += without_derived(figures)
        total["premium"] += figures.value("tier", "premium")
        total["long_stay"] += figures.value("long_stay")
        total["sites"] += site.state == "active"
    real = report.figures.keyed("nation_people_by_prefecture")
    rows = [[code, name, real.get(code, 0), totals[code]["with"], totals[code]["without"],
             totals[code]["premium"], totals[code]["long_stay"], totals[code]["sites"]]
            for code, name, _kana, _en in PREFECTURES
            if totals[code]["sites"] or totals[code]["with"]]
    rows.sort(key=lambda row: (-row[2], -row[3], row[0]))
    return Table(
        "prefectures", _("By prefecture"),
        _("Real people: distinct persons registered with the prefecture or any of its "
          "municipalities. Registrations are those with the prefecture and its "
          "municipalities; premium and long-stayers include prefecture registrations "
          "through a municipality. Participating sites: active now. Prefectures where no "
          "local government takes part yet are not listed."),
        [_("Prefecture code"), _("Prefecture"), _("Real people"), WITH_DERIVED,
         WITHOUT_DERIVED, _("Premium registrations"), _("Long-stayers"),
         _("Participating sites")],
        rows, chart="bars", bar_columns=(1, 2),
    )


def public_tables(report: NationalReport) -> list:
    """Every table of the public dashboard, in page order."""
    nation = report.figures
    return [
        aims_table(nation),
        growth_table(nation, report.period),
        national_summary_table(nation),
        prefectures_table(report),
        types_table(nation, WITH_DERIVED),
        connections_table(nation, WITH_DERIVED),
        home_prefectures_table(nation, "nation_home_prefecture", _("Real people")),
        age_gender_table(nation, "nation_age_gender"),
        national_trend_table(nation, report.period),
    ]


def headline(report: NationalReport) -> dict:
    """The main figures under stable machine-readable names (for the JSON document)."""
    nation = report.figures
    return {
        "real_people": nation.value("nation_people"),
        "registrations_including_derived": nation.value("people"),
        "registrations_excluding_derived": without_derived(nation),
        "derived_prefecture_registrations": nation.value("origin", "derived"),
        "premium_registrations": nation.value("tier", "premium"),
        "long_stay_registrations": nation.value("long_stay"),
        "at_home_registrations_not_counted": nation.value("at_home"),
    }


def json_cell(value, translate):
    """A cell for JSON: numbers stay numbers; labels are translated, "<10" stays text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return cell_text(value, translate)


def open_data_document(report: NationalReport | None, translate, source_url: str) -> dict:
    """The whole dashboard as one JSON-ready document: when it was counted, under which
    licence, the headline figures and every table (None before the first count: the
    document says so and has no tables)."""
    document = {
        "title": translate(TITLE),
        "source": source_url,
        "licence": {"name": LICENCE.name, "short_name": LICENCE.short_name,
                    "url": LICENCE.url, "compatible_with": LICENCE.compatible_with,
                    "compatible_url": LICENCE.compatible_url},
        "aims": {"real_people": AIM_PEOPLE, "registrations": AIM_REGISTRATIONS},
        "as_of": None,
        "figures": None,
        "tables": [],
    }
    if report is None:
        document["message"] = translate(NO_FIGURES_YET)
        return document
    document["as_of"] = to_tokyo(report.snapshot.as_of).isoformat()
    document["period"] = {"first": report.period.first, "last": report.period.last}
    document["figures"] = headline(report)
    document["tables"] = tables_json(public_tables(report), translate)
    return document


def tables_json(tables, translate) -> list:
    """Tables as JSON, cell for cell as their pages and CSV files show them."""
    return [
        {"name": table.name, "title": translate(table.title), "note": translate(table.note),
         "headers": [cell_text(h, translate) for h in table.headers],
         "rows": [[json_cell(c, translate) for c in row] for row in table.rows]}
        for table in tables
    ]
