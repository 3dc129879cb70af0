"""Charts drawn on the server as accessible SVG (グラフ), so they work without JavaScript.

Each chart is drawn from a statistics ``Table`` — the same cells the page shows as a
table right next to it and the CSV holds — so picture, table and download always agree.
Every SVG has ``role="img"``, a ``<title>`` and a ``<desc>`` that states the values in
words; lines differ by dash pattern and marker as well as colour, and every mark carries
its value as a tooltip. Only presentation attributes are used (the CSP forbids inline
styles)."""
from markupsafe import Markup, escape

from ..i18n import _
from ..localgov import PREFECTURES
from .statistics import Suppressed
from .statistics_tables import cell_text

WIDTH = 640
COLOURS = ("#1f5fa8", "#c0392b", "#2e7d32", "#7b3fa0")
DASHES = ("", "8 4", "2 4", "12 4 2 4")
MAP_SHADES = ("#f1f4f8", "#cfe0f3", "#9dc3e6", "#5b9bd5", "#2e6fb0", "#1a4478")
SUPPRESSED_SHADE = "#e3e8ee"

TILES = {
    "01": (12, 0), "02": (12, 1), "05": (11, 2), "03": (12, 2), "06": (11, 3), "04": (12, 3),
    "17": (8, 4), "16": (9, 4), "15": (10, 4), "07": (11, 4),
    "32": (4, 5), "31": (5, 5), "28": (6, 5), "26": (7, 5), "18": (8, 5), "21": (9, 5),
    "20": (10, 5), "10": (11, 5), "09": (12, 5),
    "35": (3, 6), "34": (4, 6), "33": (5, 6), "27": (6, 6), "25": (7, 6), "24": (8, 6),
    "23": (9, 6), "19": (10, 6), "11": (11, 6), "08": (12, 6),
    "41": (1, 7), "40": (2, 7), "38": (4, 7), "37": (5, 7), "30": (6, 7), "29": (7, 7),
    "22": (9, 7), "14": (10, 7), "13": (11, 7), "12": (12, 7),
    "42": (0, 8), "43": (1, 8), "44": (2, 8), "39": (4, 8), "36": (5, 8),
    "46": (1, 9), "45": (2, 9), "47": (0, 10),
}
"""A tile grid map of the 47 prefectures (column, row), roughly where each lies."""


def chart_for(table, translate) -> Markup | None:
    """The chart a table asks for (``table.chart``), or None."""
    draw = {"bars": bars, "lines": lines, "map": tile_map, "progress": progress}.get(table.chart)
    return None if draw is None or not table.rows else draw(table, translate)


def _svg(table, translate, height, body, summary) -> Markup:
    ident = f"chart-{table.name}"
    title = escape(translate(table.title))
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'aria-labelledby="{ident}-title {ident}-desc">'
        f'<title id="{ident}-title">{title}</title>'
        f'<desc id="{ident}-desc">{escape(summary)}</desc>{body}</svg>'
    )


def _text(x, y, content, anchor="start", size=13, weight=None):
    bold = f' font-weight="{weight}"' if weight else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'fill="#222"{bold}>{escape(content)}</text>')


def _number(value) -> float:
    return 0 if isinstance(value, Suppressed) else float(value)


def bars(table, translate) -> Markup:
    """Horizontal bars: by default the first cell of each row names the bar and the last
    is its value (``table.bar_columns`` chooses others)."""
    named, counted = table.bar_columns
    rows = [(cell_text(row[named], translate), row[counted]) for row in table.rows]
    label_width, bar_height, gap = 250, 22, 8
    height = max(1, len(rows)) * (bar_height + gap) + gap
    top = max([_number(v) for _l, v in rows] + [1])
    body = []
    for index, (label, value) in enumerate(rows):
        y = gap + index * (bar_height + gap)
        length = (WIDTH - label_width - 70) * _number(value) / top
        shown = cell_text(value, translate)
        body.append(
            f'<g><title>{escape(label)}: {escape(shown)}</title>'
            + _text(label_width - 8, y + 16, _fitted(label, label_width - 16), "end")
            + f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar_height}" '
            f'fill="{COLOURS[0]}"/>'
            + _text(label_width + length + 6, y + 16, shown) + "</g>"
        )
    summary = "; ".join(f"{label}: {cell_text(value, translate)}" for label, value in rows)
    return _svg(table, translate, height, "".join(body), summary)


def lines(table, translate) -> Markup:
    """One line per number column over the rows (months), with a legend of one line per
    series above the plot, so long names get the whole width."""
    headers = [str(translate(h)) for h in table.headers[1:]]
    months = [str(row[0]) for row in table.rows]
    series = [[_number(row[i + 1]) for row in table.rows] for i in range(len(headers))]
    left, right, plot_height, legend_line = 56, 16, 180, 18
    top = 16 + legend_line * len(headers)
    height = top + plot_height + 40
    peak = max([v for s in series for v in s] + [1])
    step = (WIDTH - left - right) / max(1, len(months) - 1)

    def point(index, value):
        return left + index * step, top + plot_height - plot_height * value / peak

    body = [f'<line x1="{left}" y1="{top + plot_height}" x2="{WIDTH - right}" '
            f'y2="{top + plot_height}" stroke="#888"/>',
            _text(left - 6, top + 4, f"{int(peak):,}", "end", 11),
            _text(left - 6, top + plot_height, "0", "end", 11)]
    every = max(1, len(months) // 6)
    body += [_text(point(i, 0)[0], top + plot_height + 18, m,
                   "end" if i == len(months) - 1 and i else "middle", 11)
             for i, m in enumerate(months)
             if (i % every == 0 and len(months) - 1 - i >= every) or i == len(months) - 1]
    for number, (name, values) in enumerate(zip(headers, series)):
        colour, dash = COLOURS[number % 4], DASHES[number % 4]
        coords = " ".join("%.1f,%.1f" % point(i, v) for i, v in enumerate(values))
        dashing = f' stroke-dasharray="{dash}"' if dash else ""
        body.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" '
                    f'stroke-width="2.5"{dashing}/>')
        for i, v in enumerate(values):
            x, y = point(i, v)
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">'
                        f'<title>{escape(name)} {escape(months[i])}: {int(v):,}</title></circle>')
        legend_y = 10 + number * legend_line
        body.append(f'<line x1="{left}" y1="{legend_y}" x2="{left + 28}" y2="{legend_y}" '
                    f'stroke="{colour}" stroke-width="3"{dashing}/>'
                    + _text(left + 34, legend_y + 4, _fitted(name, WIDTH - left - 40), size=12))
    summary = translate(_("From ${first} to ${last}.", mapping={
        "first": months[0] if months else "", "last": months[-1] if months else ""}))
    totals = "; ".join(f"{name}: {', '.join(f'{m} {int(v):,}' for m, v in zip(months, values))}"
                       for name, values in zip(headers, series))
    return _svg(table, translate, height, "".join(body), f"{summary} {totals}")


def tile_map(table, translate) -> Markup:
    """A choropleth on a tile grid of the 47 prefectures; rows are (code, name, value)."""
    values = {row[0]: row[-1] for row in table.rows}
    names = {code: name for code, name, _kana, _en in PREFECTURES}
    size, gap = 42, 3
    peak = max([_number(v) for v in values.values()] + [1])
    body = []
    for code, (column, row) in TILES.items():
        value = values.get(code, 0)
        shade = SUPPRESSED_SHADE if isinstance(value, Suppressed) else _shade(_number(value), peak)
        x, y = 40 + column * (size + gap), 8 + row * (size + gap)
        dark = not isinstance(value, Suppressed) and _number(value) > peak / 2
        label = names[code][:-1] if names[code][-1] in "都府県" else names[code]
        body.append(
            f'<g><title>{escape(names[code])}: {escape(cell_text(value, translate))}</title>'
            f'<rect x="{x}" y="{y}" width="{size}" height="{size}" rx="4" fill="{shade}" '
            f'stroke="#fff"/>'
            f'<text x="{x + size / 2}" y="{y + size / 2 + 4}" font-size="11" '
            f'text-anchor="middle" fill="{"#fff" if dark else "#222"}">{escape(label)}</text></g>'
        )
    body.append(_legend(peak, translate, 8 + 11 * (size + gap) + 10))
    height = 8 + 11 * (size + gap) + 40
    ranked = sorted(values.items(), key=lambda item: -_number(item[1]))[:5]
    summary = translate(_("Most people come from: ${list}.", mapping={
        "list": ", ".join(f"{names[c]} {cell_text(v, translate)}" for c, v in ranked) or "—"}))
    return _svg(table, translate, height, "".join(body), summary)


def _shade(value, peak) -> str:
    if value <= 0:
        return MAP_SHADES[0]
    return MAP_SHADES[min(len(MAP_SHADES) - 1, 1 + int((len(MAP_SHADES) - 2) * value / peak))]


def _legend(peak, translate, y) -> str:
    parts = []
    steps = [(MAP_SHADES[0], "0"), (SUPPRESSED_SHADE, "<10")]
    steps += [(MAP_SHADES[i + 1], f"≤{int(peak * (i + 1) / (len(MAP_SHADES) - 1)):,}")
              for i in range(len(MAP_SHADES) - 1)]
    for index, (shade, label) in enumerate(steps):
        x = 40 + index * 80
        parts.append(f'<rect x="{x}" y="{y}" width="18" height="18" fill="{shade}" '
                     f'stroke="#888"/>' + _text(x + 24, y + 14, label, size=12))
    return "".join(parts)


def progress(table, translate) -> Markup:
    """Progress towards an aim: rows are (label, number, aim, percent); each label sits
    on its own line above its bar, so long labels (延べ with or without …) stay whole."""
    bar_height, label_height, gap, left = 26, 20, 14, 8
    span = WIDTH - 2 * left
    body = []
    for index, (label, value, aim, percent) in enumerate(table.rows):
        y = gap + index * (label_height + bar_height + gap)
        filled = max(1.0, span * min(1.0, value / aim)) if value else 0
        name = cell_text(label, translate)
        figures = f"{value:,} / {aim:,} ({percent}%)"
        body.append(
            f'<g><title>{escape(name)}: {escape(figures)}</title>'
            + _text(left, y + 14, _fitted(name, span))
            + f'<rect x="{left}" y="{y + label_height}" width="{span}" height="{bar_height}" '
            f'fill="#e8edf3" stroke="#888"/>'
            f'<rect x="{left}" y="{y + label_height}" width="{filled:.1f}" '
            f'height="{bar_height}" fill="{COLOURS[2]}"/>'
            + _text(left + 8, y + label_height + 18, figures) + "</g>"
        )
    height = gap + len(table.rows) * (label_height + bar_height + gap)
    summary = "; ".join(f"{cell_text(label, translate)}: {value:,} / {aim:,} ({percent}%)"
                        for label, value, aim, percent in table.rows)
    return _svg(table, translate, height, "".join(body), summary)


def _fitted(text: str, width: float, size: int = 13) -> str:
    """The text, cut with "…" to fit ``width`` pixels (wide characters take a full em,
    others about half); the full text stays in the mark's tooltip and the table."""
    def length(part):
        return sum(size if ord(ch) > 0x2E7F else size * 0.55 for ch in part)

    if length(text) <= width:
        return text
    while text and length(text + "…") > width:
        text = text[:-1]
    return text + "…"
