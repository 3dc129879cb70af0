"""The statistics as tables (集計表): what the dashboards, their CSV downloads, the open
data and the charts show — built from the figures services/stats_figures.py defines, so a page
and its download always hold the same cells."""
from collections import defaultdict
from dataclasses import dataclass

from pyramid.i18n import TranslationString

from ..i18n import _
from ..localgov import PREFECTURES
from ..models import (
    Site,
)
from ..models.premium import APPLICATION_STATES as PREMIUM_STATES
from ..models.site import SITE_STATES
from ..models.support import APPLICATION_STATES as SUPPORT_STATES
from ..vocabulary import CONNECTIONS, RELATIONSHIP_TYPES
from .errors import InvalidInput
from .premium import STATE_LABELS as PREMIUM_STATE_LABELS
from .sites import STATE_LABELS as SITE_STATE_LABELS
from .support import APPLICATION_STATE_LABELS as SUPPORT_STATE_LABELS
from .statistics import (
    AIM_PEOPLE,
    AIM_REGISTRATIONS,
    NationalReport,
    Period,
    Report,
    SITE_TABLE_COLUMNS,
    SiteFigures,
    shown,
)
from .stats_figures import AGE_BANDS, GENDERS, UNANSWERED


@dataclass
class Table:
    """A table of figures: the page shows it (with a chart where ``chart`` says so), and
    its CSV download has exactly the same cells."""

    name: str
    title: TranslationString
    note: TranslationString
    headers: list
    rows: list
    chart: str | None = None
    """``bars``, ``lines``, ``map`` or ``progress``: see services.charts."""
    bar_columns: tuple = (0, -1)
    """For ``bars``: the column naming each bar and the column of its value."""


WITH_DERIVED = _("Registrations, including prefecture registrations through a municipality")
WITHOUT_DERIVED = _("Registrations, without prefecture registrations through a municipality")
"""Every 延べ (registrations summed over sites) says whether it holds the prefecture
registrations derived from a municipality's (rule 8); where the aim is shown, both."""


TIER_ROWS = (("tier", "basic", _("Basic registrations")),
             ("tier", "premium", _("Premium registrations")))
AGE_LABELS = {
    "0-19": _("Under 20"), "20-29": _("20s"), "30-39": _("30s"), "40-49": _("40s"),
    "50-59": _("50s"), "60-69": _("60s"), "70+": _("70 and over"),
}
GENDER_LABELS = {"female": _("Women"), "male": _("Men"), "other": _("Other or not stated")}
FLOW_LABELS = {"joined": _("Joined"), "left": _("Left the site"),
               "released": _("Released for inactivity")}
FEE_LABELS = {"exempt": _("Free of charge"), "undecided": _("Fees to be decided"),
              "not_joined": _("Not joined yet")}
PUBLIC_SITE_COLUMNS = tuple(c for c in SITE_TABLE_COLUMNS
                            if c[0] in ("people", "premium", "long_stay"))
"""The columns of sites side by side on public pages: people, premium, long-stayers."""
SORT_KEYS = ("code", "name") + tuple(column[0] for column in SITE_TABLE_COLUMNS)


def cell_text(value, translate, grouped=True) -> str:
    """A table cell as text: numbers with thousands separators on pages (plain in CSV),
    labels translated, "<10" as it is."""
    if isinstance(value, bool) or not isinstance(value, int):
        return translate(value) if isinstance(value, TranslationString) else str(value)
    return f"{value:,}" if grouped else str(value)


def month_label(month: str) -> str:
    return month.replace("-", "/")


def summary_table(figures: SiteFigures, site: Site | None) -> Table:
    rows = [[_("People with a registration (at home not counted)"), figures.value("people")]]
    rows += [[label, figures.value(fig, key)] for fig, key, label in TIER_ROWS]
    rows.append([_("Long-stayers"), figures.value("long_stay")])
    if site is not None and site.is_prefecture:
        rows.append([_("Registered through a municipality"), figures.value("origin", "derived")])
        rows.append([_("Registered directly"), figures.value("origin", "direct")])
    rows.append([_("People with verified identity"), figures.value("verified")])
    rows.append([_("Registered where they live (shown apart, not counted)"),
                 figures.value("at_home")])
    return Table("summary", _("Registrations now"),
                 _("Active registrations. Released, left and deleted ones are not counted."),
                 [_("Figure"), _("Number")], rows)


def types_table(figures: SiteFigures, unit) -> Table:
    return Table(
        "types", _("By relationship type"),
        _("Each registration counts under every type that applies to it (the national "
          "survey asks which apply), so the rows add up to more than the registrations."),
        [_("Type"), unit],
        [[label, figures.value("relationship_type", str(k))]
         for k, label in RELATIONSHIP_TYPES.items()]
        + [[_("Not answered"), figures.value("relationship_type", UNANSWERED)]],
        chart="bars",
    )


def connections_table(figures: SiteFigures, unit) -> Table:
    return Table(
        "connections", _("By connection"),
        _("A registration with several connections counts under each."),
        [_("Connection"), unit],
        [[label, figures.value("connection", key)] for key, label in CONNECTIONS.items()],
        chart="bars",
    )


def home_prefectures_table(figures: SiteFigures, figure: str, unit) -> Table:
    counts = figures.keyed(figure)
    return Table(
        "home_prefectures", _("By home prefecture"),
        _("From verified identity only. Groups of 1 to 9 people are shown as \"<10\"."),
        [_("Prefecture code"), _("Prefecture"), unit],
        [[code, name, shown(counts[code], figure)]
         for code, name, _kana, _en in PREFECTURES if counts.get(code)],
        chart="map",
    )


def age_gender_table(figures: SiteFigures, figure: str) -> Table:
    counts = figures.keyed(figure)
    return Table(
        "age_gender", _("By age and gender"),
        _("From verified identity only, age on the day of counting. Groups of 1 to 9 "
          "people are shown as \"<10\"."),
        [_("Age"), *GENDER_LABELS.values()],
        [[AGE_LABELS[band], *(shown(counts.get(f"{band}|{g}", 0), figure) for g in GENDERS)]
         for _low, band in reversed(AGE_BANDS)],
    )


def trend_table(figures: SiteFigures, period: Period, note=None) -> Table:
    months = figures.by_month("registration_flow", period)
    return Table(
        "trend", _("Joined and ended per month"),
        note or _("Registrations not at home: joined (or rejoined), left and released in each "
                  "month."),
        [_("Month"), *FLOW_LABELS.values()],
        [[month_label(m), *(parts.get(k, 0) for k in FLOW_LABELS)] for m, parts in months.items()],
        chart="lines",
    )


def attendance_months_table(figures: SiteFigures, period: Period) -> Table:
    months = figures.by_month("attendance", period)
    return Table(
        "attendance_months", _("Activity attendance per month"),
        _("Attendance at contributor activities; voided records are not counted."),
        [_("Month"), _("Attendances")],
        [[month_label(m), parts.get("", 0)] for m, parts in months.items()],
        chart="lines",
    )


def attendance_projects_table(report: Report) -> Table:
    parts = report.figures.period_parts("attendance_by_project", report.period)
    ordered = sorted(parts.items(), key=lambda item: (-item[1], int(item[0])))
    return Table(
        "attendance_projects", _("Activity attendance per project"),
        _("In the chosen months; voided records are not counted."),
        [_("Project"), _("Attendances")],
        [[report.project_titles.get(int(pid), f"#{pid}"), count] for pid, count in ordered],
        chart="bars",
    )


def premium_table(report: Report) -> Table:
    parts = report.figures.period_parts("premium_applications", report.period)
    return Table(
        "premium_applications", _("Premium applications"),
        _("Applications submitted in the chosen months, by their state now."),
        [_("State"), _("Number of applications")],
        [[PREMIUM_STATE_LABELS[s], parts.get(s, 0)] for s in PREMIUM_STATES],
    )


def support_table(report: Report) -> Table:
    parts = report.figures.period_parts("support_applications", report.period)
    paid = sum(report.figures.in_period("support_paid_yen", report.period).values())
    return Table(
        "support", _("Support applications and amounts paid"),
        _("Applications submitted in the chosen months by their state now, and yen paid "
          "out in the chosen months."),
        [_("Figure"), _("Number")],
        [[SUPPORT_STATE_LABELS[s], parts.get(s, 0)] for s in SUPPORT_STATES]
        + [[_("Amount paid (yen)"), paid]],
    )


def survey_table(report: Report) -> Table:
    counts = report.figures.keyed("survey_choice")
    rows = []
    for question in report.questions:
        if question.kind == "scale":
            options = [(str(n), str(n)) for n in range(question.scale_min, question.scale_max + 1)]
        else:
            options = [(c["key"], c["label"]) for c in question.choices or ()]
        rows += [[question.label, label, counts.get(f"{question.id}:{key}", 0)]
                 for key, label in options]
    return Table(
        "survey", _("Answers to this site's own questions"),
        _("Answers of current registrations (at home not counted), per choice."),
        [_("Question"), _("Answer"), _("People")], rows,
    )


def sites_table(name, title, note, rows, columns=SITE_TABLE_COLUMNS) -> Table:
    """A table of sites with the number ``columns`` (of SITE_TABLE_COLUMNS); ``rows``
    are (Site, SiteFigures[, extra cells])."""
    return Table(
        name, title, note,
        [_("Code"), _("Site"), *(heading for *_f, heading in columns)],
        [[site.code, site.name,
          *(figures.value(figure, key) for _s, figure, key, _h in columns)]
         for site, figures, *_rest in rows],
    )


def municipalities_side_by_side(report: Report) -> Table:
    """A prefecture's public page: its own figures, then each participating (active)
    municipality's, side by side."""
    shown_sites = [(report.site, report.figures)]
    shown_sites += [(site, figures) for site, figures in report.municipalities if site.is_public]
    return sites_table(
        "municipalities", _("The prefecture and its municipalities side by side"),
        _("Each site's own registrations now (at home not counted). The prefecture's own "
          "row includes the registrations made with it through a municipality."),
        shown_sites, PUBLIC_SITE_COLUMNS,
    )


def site_tables(report: Report) -> list:
    """Every table of a site's staff dashboard, in page order."""
    figures, people_unit = report.figures, _("People")
    tables = [
        summary_table(figures, report.site),
        types_table(figures, people_unit),
        connections_table(figures, people_unit),
        home_prefectures_table(figures, "home_prefecture", people_unit),
        age_gender_table(figures, "age_gender"),
        trend_table(figures, report.period),
        attendance_months_table(figures, report.period),
        attendance_projects_table(report),
        premium_table(report),
        support_table(report),
        survey_table(report),
    ]
    if report.municipalities:
        tables.append(sites_table(
            "municipalities", _("Municipalities in this prefecture"),
            _("Each municipality's own registrations now."), report.municipalities,
        ))
    return tables


def open_data_tables(report: Report) -> list:
    """The public open-data page: aggregate figures only (a prefecture's with its
    municipalities side by side)."""
    figures, people_unit = report.figures, _("People")
    side_by_side = [municipalities_side_by_side(report)] if report.site.is_prefecture else []
    return [
        summary_table(figures, report.site),
        *side_by_side,
        types_table(figures, people_unit),
        connections_table(figures, people_unit),
        home_prefectures_table(figures, "home_prefecture", people_unit),
        age_gender_table(figures, "age_gender"),
        trend_table(figures, report.period),
        attendance_months_table(figures, report.period),
    ]


def national_tables(report: NationalReport, sort: str = "people", descending=True,
                    shown_sites: slice = slice(None)) -> list:
    """The operator's national dashboard. Per-site breakdowns are summed over sites
    (registrations, 延べ); home prefecture and age are of real people. The table of sites
    is sorted, then cut to ``shown_sites`` (a page of it; all of it for CSV)."""
    nation = report.figures
    return [
        aims_table(nation),
        growth_table(nation, report.period),
        national_summary_table(nation),
        sites_by_state_table(report),
        types_table(nation, WITH_DERIVED),
        connections_table(nation, WITH_DERIVED),
        home_prefectures_table(nation, "nation_home_prefecture", _("Real people")),
        age_gender_table(nation, "nation_age_gender"),
        national_trend_table(nation, report.period),
        attendance_months_table(nation, report.period),
        sites_table("sites", _("All sites"),
                    _("Each site's own registrations now; a prefecture's include those made "
                      "with it through a municipality."),
                    sorted_sites(report.sites, sort, descending)[shown_sites]),
    ]


def without_derived(figures: SiteFigures) -> int:
    """Counted registrations made directly: all of them less the derived ones."""
    return figures.value("people") - figures.value("origin", "derived")


def aims_table(nation: SiteFigures) -> Table:
    """Real people and registrations (with and without the derived ones) against the
    national aims of 10 million and 100 million."""
    real, total = nation.value("nation_people"), nation.value("people")
    direct = without_derived(nation)
    return Table(
        "aims", _("Real people and registrations against the national aim"),
        _("Real people: distinct persons with at least one counted registration. "
          "Registrations (延べ): counted registrations summed over all sites, with and "
          "without the prefecture registrations made automatically when someone registers "
          "with one of its municipalities."),
        [_("Figure"), _("Number"), _("Aim"), _("Progress (%)")],
        [[_("Real people"), real, AIM_PEOPLE, percent(real, AIM_PEOPLE)],
         [WITH_DERIVED, total, AIM_REGISTRATIONS, percent(total, AIM_REGISTRATIONS)],
         [WITHOUT_DERIVED, direct, AIM_REGISTRATIONS, percent(direct, AIM_REGISTRATIONS)]],
        chart="progress",
    )


def growth_table(nation: SiteFigures, period: Period) -> Table:
    """Today's registrations added up to the end of each month of the period (all months
    before it included), with and without the derived ones: the climb toward the aim."""
    added = defaultdict(lambda: [0, 0])
    for key, value in nation.keyed("registered_month").items():
        added[key[:7]][0] += value
        added[key[:7]][1] += value if key.endswith("|direct") else 0
    total = sum(parts[0] for month, parts in added.items() if month < period.first)
    direct = sum(parts[1] for month, parts in added.items() if month < period.first)
    rows = []
    for month in period.months:
        total, direct = total + added[month][0], direct + added[month][1]
        rows.append([month_label(month), total, direct])
    return Table(
        "growth", _("Registrations month by month"),
        _("The registrations counted now, added up by the month each was first made: how "
          "many of them existed at the end of each month."),
        [_("Month"), WITH_DERIVED, WITHOUT_DERIVED], rows, chart="lines",
    )


def national_trend_table(nation: SiteFigures, period: Period) -> Table:
    return trend_table(nation, period, _(
        "Registrations not at home, summed over all sites including prefecture registrations "
        "through a municipality: joined (or rejoined), left and released in each month."))


def national_summary_table(nation: SiteFigures) -> Table:
    rows = [[WITH_DERIVED, nation.value("people")],
            [WITHOUT_DERIVED, without_derived(nation)]]
    rows += [[label, nation.value(fig, key)] for fig, key, label in TIER_ROWS]
    rows += [
        [_("Long-stayers"), nation.value("long_stay")],
        [_("Prefecture registrations through a municipality"),
         nation.value("origin", "derived")],
        [_("Registered where they live (shown apart, not counted)"), nation.value("at_home")],
    ]
    return Table("summary", _("Registrations now, all sites"),
                 _("Counted registrations (at home not counted) summed over all sites; "
                   "every row includes the prefecture registrations made through a "
                   "municipality unless it says otherwise."),
                 [_("Figure"), _("Number")], rows)


def percent(value: int, aim: int) -> str:
    """Progress in percent, with enough decimals to show the first people (at most 6)."""
    return f"{value * 100 / aim:.6f}".rstrip("0").rstrip(".")


def sites_by_state_table(report: NationalReport) -> Table:
    counts = defaultdict(int)
    for site, _figures, fee in report.sites:
        counts[(site.state, fee.kind)] += 1
    return Table(
        "sites_by_state", _("Participating sites by state and fees"),
        _("Fees follow the joining date: joined by 31 March 2028, free of charge."),
        [_("State"), *FEE_LABELS.values(), _("Total")],
        [[SITE_STATE_LABELS[state], *(counts[(state, fee)] for fee in FEE_LABELS),
          sum(counts[(state, fee)] for fee in FEE_LABELS)] for state in SITE_STATES],
    )


def parse_sort(raw_sort, raw_order) -> tuple:
    """(sort key, descending) from ``sort`` and ``order`` parameters, or InvalidInput."""
    sort = raw_sort or "people"
    if sort not in SORT_KEYS:
        raise InvalidInput(_("Unknown column to sort by."), field="sort")
    order = raw_order or ("asc" if sort in ("code", "name") else "desc")
    if order not in ("asc", "desc"):
        raise InvalidInput(_("The order must be asc or desc."), field="order")
    return sort, order == "desc"


def sorted_sites(rows, sort: str, descending: bool) -> list:
    columns = {column[0]: column for column in SITE_TABLE_COLUMNS}

    def key(row):
        site, figures = row[0], row[1]
        if sort in columns:
            _k, figure, figure_key, _h = columns[sort]
            return (figures.value(figure, figure_key), site.code)
        return (getattr(site, sort), site.code)

    return sorted(rows, key=key, reverse=descending)
