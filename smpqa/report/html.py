"""Self-contained HTML pages of one analysis, or of several side by side.

Pages carry everything inline (CSS, and the figures as base64 PNG data URIs),
need no JavaScript and name no external URL, so a report can be mailed,
archived or opened from a phone's files as a single file.  Every text that
comes from outside this module (paths, reasons, metric names, profile
sources) is escaped.
"""

from __future__ import annotations

import base64
import html
import os
import struct
from datetime import datetime

from .. import __version__
from .._numbers import is_finite_real
from ..errors import ProfileError
from ..profile import CRITERIA, METRIC_LABELS, Limit
from . import plots

__all__ = ["render_html", "render_comparison_html", "write_html"]

_STATUS_WORDS = {"pass": "pass", "warn": "warn", "fail": "fail",
                 "not_applicable": "not applicable"}

_CRITERIA_TEXT = {
    "size": ("Dot size", "Are the dots as small and as even as hair follicles?"),
    "darkness": ("Darkness", "Are the dots dark enough to read as stubble, but not too dark?"),
    "colour": ("Colour", "Has the pigment turned blue or green under the skin?"),
    "uniformity": ("Uniformity", "Are the dots spread evenly, without clumps or bare gaps?"),
    "hairline": ("Hairline", "Does the front edge fade out softly instead of a hard line?"),
    "blowout": ("Blow-out", "Has ink spread into halos or merged neighbouring dots?"),
}

_SCALE_METHODS = {"argument": "given when the photo was analysed",
                  "metadata": "read from the photo's metadata"}

_FLAG_WORDS = {"normal": "normal", "oversized": "oversized (over 2 × the median diameter)",
               "merged": "merged with a neighbour", "blown_out": "blown out (halo)"}

# Names of the metrics that are reported but not judged by the default profile.
_EXTRA_LABELS = {
    "depth_iqr": ("spread of dot depth (IQR)", ""),
    "delta_L": ("skin minus dot lightness ΔL*", ""),
    "clark_evans_r": ("Clark–Evans R (1 random, above 1 regular)", ""),
    "cluster_share": ("share of dots in clumps", ""),
    "irregularity_mm": ("hairline irregularity", "mm"),
    "irregularity_floor_mm": ("irregularity from dot sampling alone", "mm"),
    "halo_share": ("share of dots with a halo", ""),
    "merged_share": ("share of merged dots", ""),
    "median_halo_ratio": ("median halo ratio", ""),
}

# Units for metrics no table here lists, from how their names end.
_UNIT_SUFFIXES = (("_per_cm2", "/cm²"), ("_mm", "mm"), ("_px", "px"), ("_deg", "°"))

_CSS = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
 color:#1f2937;background:#f3f4f6}
main{max-width:1180px;margin:0 auto;padding:.75rem}
h1{font-size:1.45rem;margin:.2rem 0;overflow-wrap:anywhere}
h2{font-size:1.15rem;margin:1.4rem 0 .6rem}
h3{font-size:1.05rem;margin:0}
img{max-width:100%;height:auto;display:block;border-radius:6px}
header.page,.panel,section.verdict,article.item,footer.page{background:#fff;border-radius:10px;
 box-shadow:0 1px 3px rgba(0,0,0,.08);padding:.9rem 1rem}
header.page{margin-bottom:.8rem}
.muted{color:#6b7280;font-size:.9rem}
.path{overflow-wrap:anywhere}
.badge{display:inline-block;padding:.12rem .6rem;border-radius:999px;color:#fff;
 font-weight:600;font-size:.85rem;letter-spacing:.02em;text-transform:uppercase;
 white-space:nowrap;vertical-align:middle}
.badge.big{font-size:1.05rem;padding:.2rem .9rem}
.s-pass{background:#15803d}.s-warn{background:#b45309}.s-fail{background:#b91c1c}
.s-not_applicable{background:#6b7280}
.grade{display:flex;flex-wrap:wrap;align-items:center;gap:.6rem;margin-top:.5rem}
.grade p{margin:0;font-weight:500}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,20rem),1fr));
 gap:.8rem}
section.verdict{border-left:6px solid #6b7280}
section.verdict[data-status=pass]{border-left-color:#15803d}
section.verdict[data-status=warn]{border-left-color:#b45309}
section.verdict[data-status=fail]{border-left-color:#b91c1c}
.verdict .head{display:flex;justify-content:space-between;align-items:center;gap:.5rem}
.verdict .question{margin:.2rem 0 .4rem}
.verdict ul.reasons{margin:.3rem 0 .6rem;padding-left:1.2rem}
.verdict ul.reasons li{margin:.15rem 0}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{text-align:left;padding:.25rem .4rem;border-bottom:1px solid #e5e7eb;vertical-align:top}
th{font-weight:600;color:#374151}
td.num{white-space:nowrap;font-variant-numeric:tabular-nums}
tr.m-warn td.num{color:#b45309;font-weight:600}tr.m-fail td.num{color:#b91c1c;font-weight:600}
.legend{display:flex;flex-wrap:wrap;gap:.3rem 1.1rem;margin:.6rem 0 0;padding:0;
 list-style:none;font-size:.9rem}
.swatch{display:inline-block;width:.9rem;height:.9rem;border-radius:50%;border:3px solid;
 vertical-align:-.12rem;margin-right:.3rem}
.swatch.line{border-radius:0;border-width:3px 0 0;height:0;width:1.2rem;vertical-align:.25rem}
.swatch.hatch{border-radius:2px;border-width:2px;background:repeating-linear-gradient(
 45deg,#ffe600 0 2px,transparent 2px 5px)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,26rem),1fr));
 gap:.8rem}
figure{margin:0}
figcaption{margin-top:.4rem}
footer.page{margin-top:1.2rem;font-size:.9rem}
footer.page dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:0}
footer.page dt{font-weight:600}footer.page dd{margin:0;overflow-wrap:anywhere}
details{margin-top:.8rem}summary{cursor:pointer;font-weight:600}
.columns{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,22rem),1fr));
 gap:1rem;align-items:start}
article.item .cards{grid-template-columns:1fr}
article.item h2,.panel h2{margin-top:0}
td.lim{white-space:nowrap}
table.profile{max-width:48rem}
@media (max-width:600px){main{padding:.5rem}
 article.item,header.page,.panel,footer.page{padding:.7rem}
 section.verdict{padding:.7rem .75rem}}
"""


# ---------------------------------------------------------------------------------------------
# Public API


def render_html(analysis, rgb, *, title: str | None = None) -> str:
    """One self-contained HTML report of an analysis.

    Parameters
    ----------
    analysis : smpqa.analysis.Analysis
    rgb : numpy.ndarray or path
        The analysed photo (anything :func:`smpqa.load_image` reads).
    title : str, optional
        Page heading; the photo's file name by default.

    Returns
    -------
    str
        A complete HTML document: header with the grade, the photo with the
        detected dots marked, one card per criterion (``<section
        class="verdict" data-criterion=... data-status=...>``, in the order of
        :data:`smpqa.profile.CRITERIA`), the density map and diameter
        histogram, and a footer with the scale, the profile and versions.

    Raises
    ------
    ValueError
        If the photo's size differs from the one the analysis was made on.

    Examples
    --------
    >>> from smpqa import synth
    >>> from smpqa.analysis import analyze
    >>> photo = synth.render(synth.preset("good_light", width_px=400, height_px=300))
    >>> a = analyze(photo.image, px_per_mm=photo.scene.px_per_mm)
    >>> page = render_html(a, photo.image)
    >>> page.count('<section class="verdict"')
    6
    """
    heading = title if title is not None else _source_name(analysis.source)
    body = "\n".join([
        _header(analysis, heading),
        _overlay_panel(analysis, rgb),
        "<h2>Verdicts</h2>",
        _cards(analysis),
        _charts(analysis),
        _footer(analysis),
    ])
    return _page(heading, body)


def render_comparison_html(items, *, title: str) -> str:
    """One page with several analyses side by side (e.g. good vs botched work).

    Parameters
    ----------
    items : iterable of (str, Analysis, numpy.ndarray)
        A label, the analysis and its photo, per column.
    title : str
        Page heading.

    Returns
    -------
    str
        A self-contained HTML document with one ``<article class="item">`` per
        item (a column each on wide screens, stacked on phones) holding its
        grade, overlay thumbnail and verdict cards.
    """
    columns = [_item_column(label, analysis, rgb) for label, analysis, rgb in items]
    body = "\n".join([
        f'<header class="page"><h1>{_e(title)}</h1>'
        f'<p class="muted">{_made_on()} · smpqa {_e(__version__)}</p>'
        f"{_flag_legend(None)}</header>",
        '<div class="columns">', *columns, "</div>",
    ])
    return _page(title, body)


def write_html(path, html_text: str) -> None:
    """Write a page atomically, as UTF-8 (see :func:`smpqa.io.write_text_atomic`).

    A reader never sees a half-written report, and an error leaves any
    previous report in place and no temporary file behind.

    Parameters
    ----------
    path : str or os.PathLike
    html_text : str
    """
    from ..io import write_text_atomic

    write_text_atomic(path, html_text)


# ---------------------------------------------------------------------------------------------
# Page parts


def _page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{_e(title)} · smpqa report</title>\n<style>{_CSS}</style>\n</head>\n"
            f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n")


def _header(analysis, heading: str) -> str:
    n = len(analysis.dots)
    return (f'<header class="page" id="summary"><h1>{_e(heading)}</h1>'
            f'<p class="muted path">Photo: {_e(analysis.source)} · {n} dot'
            f'{"" if n == 1 else "s"} detected · report made {_made_on()}</p>'
            f'{_grade(analysis.grade)}</header>')


def _grade(grade: dict) -> str:
    status = str(grade.get("status", "not_applicable"))
    return (f'<div class="grade" data-status="{_e(status)}">'
            f'<span class="badge big {_status_class(status)}">{_e(_status_word(status))}</span>'
            f'<p class="summary">{_e(grade.get("summary", ""))}</p></div>')


def _overlay_panel(analysis, rgb) -> str:
    img = _img(plots.overlay_png(rgb, analysis), "overlay",
               "The photo with every detected dot circled in the colour of its flag")
    return (f'<section class="panel" id="overlay"><h2>Detected dots</h2>{img}'
            f"{_flag_legend(plots.flag_counts(analysis))}</section>")


def _flag_legend(counts: dict | None) -> str:
    items = []
    for flag in plots.FLAGS:
        n = "" if counts is None else f": {counts[flag]}"
        items.append(f'<li data-flag="{flag}"><span class="swatch" style="border-color:'
                     f'{plots.FLAG_COLOURS[flag]}"></span>{_FLAG_WORDS[flag]}{n}</li>')
    items += ['<li><span class="swatch line" style="border-color:#00e5ff"></span>'
              "treated region</li>",
              '<li><span class="swatch hatch" style="border-color:#ffe600"></span>'
              "hairline band</li>"]
    return f'<ul class="legend">{"".join(items)}</ul>'


def _cards(analysis) -> str:
    cards = [_verdict_card(c, analysis.verdicts[c]) for c in _criteria(analysis)]
    return f'<div class="cards">{"".join(cards)}</div>'


def _criteria(analysis) -> list[str]:
    # The report order first; any criterion a newer analysis adds goes at the end.
    return [c for c in CRITERIA if c in analysis.verdicts] + \
        [c for c in analysis.verdicts if c not in CRITERIA]


def _verdict_card(criterion: str, verdict) -> str:
    name, question = _CRITERIA_TEXT.get(criterion, (criterion, ""))
    status = verdict.status
    reasons = "".join(f"<li>{_e(r)}</li>" for r in verdict.reasons)
    return (f'<section class="verdict" id="verdict-{_e(criterion)}" '
            f'data-criterion="{_e(criterion)}" data-status="{_e(status)}">'
            f'<div class="head"><h3>{_e(name)}</h3>'
            f'<span class="badge {_status_class(status)}">{_e(_status_word(status))}</span></div>'
            f'<p class="question muted">{_e(question)}</p>'
            f'<ul class="reasons">{reasons}</ul>{_values_table(verdict)}</section>')


def _values_table(verdict) -> str:
    metrics = list(verdict.values) + [m for m in verdict.thresholds if m not in verdict.values]
    if not metrics:
        return ""
    rows = [_value_row(m, verdict) for m in metrics]
    return ('<div class="scroll"><table class="values"><thead><tr><th>measure</th>'
            '<th>value</th><th>limits</th></tr></thead><tbody>'
            f'{"".join(rows)}</tbody></table></div>')


def _value_row(metric: str, verdict) -> str:
    label, unit = _metric_label(metric)
    value = verdict.values.get(metric)
    limit = _limit(verdict.thresholds.get(metric), metric)
    judged = limit is not None and limit.enabled and verdict.status != "not_applicable"
    status = limit.status(value) if judged and value is not None else "reported"
    return (f'<tr class="m-{_e(status)}" data-metric="{_e(metric)}"><td>{_e(label)}</td>'
            f'<td class="num">{_e(_value_text(value, unit, _limit_edges(limit)))}</td>'
            f'<td class="lim">{_limit_html(verdict.thresholds.get(metric), limit, unit)}</td></tr>')


def _charts(analysis) -> str:
    density = _img(plots.density_png(analysis), "density", "Map of the dot density per cm²")
    hist = _img(plots.diameter_hist_png(analysis), "histogram",
                "Histogram of the dot diameters with the profile's size limits")
    return ('<h2>Density and dot sizes</h2><div class="charts">'
            f'<figure class="panel" id="density">{density}<figcaption class="muted">'
            "Dots per cm², smoothed over 2 mm. Even work shows one steady colour inside the "
            "dashed outline; dark holes are bare gaps, bright spots clumps.</figcaption></figure>"
            f'<figure class="panel" id="diameters">{hist}<figcaption class="muted">'
            "Diameters of all detected dots. Dashed lines: the profile's pass and warn limits "
            "for the median diameter; solid line: the measured median.</figcaption></figure>"
            "</div>")


def _footer(analysis) -> str:
    from ..analysis import SCHEMA_VERSION

    scale = analysis.scale or {}
    ppm = scale.get("px_per_mm")
    method = str(scale.get("method", "unknown"))
    scale_text = (f"{_number(ppm)} px/mm" if is_finite_real(ppm) else "unknown") + \
        f" ({_SCALE_METHODS.get(method, method)})"
    params = analysis.parameters or {}
    source = params.get("profile_source", "unknown")
    return ('<footer class="page" id="about"><dl>'
            f"<dt>Scale</dt><dd>{_e(scale_text)}</dd>"
            f'<dt>Glare</dt><dd class="glare">{_e(_glare_text(analysis))}</dd>'
            f'<dt>Profile</dt><dd class="profile-source">{_e(source)}</dd>'
            f"<dt>smpqa</dt><dd>version {_e(__version__)}, result schema "
            f"{_e(SCHEMA_VERSION)}</dd></dl>"
            f"{_profile_table(params.get('profile') or {})}</footer>")


def _glare_text(analysis) -> str:
    """How much of the photo the detector took glare out of (``DotTable.meta``)."""
    frac = analysis.dots.meta.get("glare_fraction", 0.0)
    if not is_finite_real(frac) or frac <= 0:
        return "none found"
    return (f"taken out over {100 * frac:.1f} % of the photo before the dots were found; "
            "dots and skin there are measured on the corrected photo")


def _profile_table(profile: dict) -> str:
    rows = []
    for criterion, table in profile.items():
        for metric, thr in (table or {}).items():
            label, unit = _metric_label(metric)
            limits = _limit_html(thr, _limit(thr, metric), unit)
            rows.append(f"<tr><td>{_e(criterion)}</td><td>{_e(label)}</td>"
                        f'<td class="lim">{limits}</td></tr>')
    if not rows:
        return ""
    return ('<details open><summary>Profile thresholds</summary><div class="scroll">'
            '<table class="profile"><thead><tr><th>criterion</th><th>measure</th>'
            f'<th>limits</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
            "</details>")


def _item_column(label: str, analysis, rgb) -> str:
    img = _img(plots.overlay_png(rgb, analysis, max_px=900), "overlay",
               f"{label}: the photo with the detected dots marked")
    cards = "".join(_verdict_card(c, analysis.verdicts[c]) for c in _criteria(analysis))
    return (f'<article class="item" data-label="{_e(label)}"><h2>{_e(label)}</h2>'
            f'<p class="muted path">{_e(analysis.source)} · {len(analysis.dots)} dots</p>'
            f'{_grade(analysis.grade)}<div style="margin:.8rem 0">{img}</div>'
            f'<div class="cards">{cards}</div></article>')


# ---------------------------------------------------------------------------------------------
# Small helpers


def _e(text) -> str:
    # A file name's bytes that are not UTF-8 arrive as lone surrogates, which no UTF-8 page
    # can hold (writing it would fail): show them as \udcXX escapes instead.
    text = str(text).encode("utf-8", "backslashreplace").decode("utf-8")
    return html.escape(text, quote=True)


def _img(png: bytes, cls: str, alt: str) -> str:
    # The PNG header holds the size: width/height attributes stop the page jumping on load.
    w, h = struct.unpack(">II", png[16:24])
    data = base64.b64encode(png).decode("ascii")
    return (f'<img class="{cls}" src="data:image/png;base64,{data}" width="{w}" height="{h}" '
            f'alt="{_e(alt)}">')


def _made_on() -> str:
    return _e(datetime.now().astimezone().strftime("%Y-%m-%d %H:%M"))


def _source_name(source) -> str:
    if not source or source == "array":
        return "SMP photo"
    return os.path.basename(str(source)) or str(source)


def _status_word(status: str) -> str:
    return _STATUS_WORDS.get(status, status)


def _status_class(status: str) -> str:
    return "s-" + (status if status in _STATUS_WORDS else "not_applicable")


def _metric_label(metric: str) -> tuple[str, str]:
    if metric in METRIC_LABELS:
        label, unit = METRIC_LABELS[metric][:2]
        return label, unit
    if metric in _EXTRA_LABELS:
        return _EXTRA_LABELS[metric]
    for suffix, unit in _UNIT_SUFFIXES:
        if metric.endswith(suffix):
            return metric[: -len(suffix)].replace("_", " "), unit
    return metric.replace("_", " "), ""


def _limit(thr, metric: str) -> Limit | None:
    if not isinstance(thr, dict):
        return None
    try:
        return Limit.parse(thr, metric)
    except ProfileError:
        return None


def _limit_html(thr, limit: Limit | None, unit: str) -> str:
    """The limits as escaped HTML: "pass ≤ 0.5 mm", a line break, "warn ≤ 0.65 mm"."""
    if limit is None:
        return "—" if thr is None else _e(thr)
    lines = [f"pass {_limit_side(limit, limit.pass_, unit)}",
             f"warn {_limit_side(limit, limit.warn, unit)}"]
    if not limit.enabled:
        lines.append("(reported only)")
    return "<br>".join(_e(line) for line in lines)


def _limit_side(limit: Limit, edge, unit: str) -> str:
    if limit.kind == "two_sided":
        return f"{_number(edge[0])}–{_with_unit(_number(edge[1]), unit)}"
    return f"{'≤' if limit.kind == 'upper' else '≥'} {_with_unit(_number(edge), unit)}"


def _limit_edges(limit: Limit | None) -> list[float]:
    if limit is None:
        return []
    return [float(v) for v in (*_as_tuple(limit.pass_), *_as_tuple(limit.warn))]


def _as_tuple(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)


def _number(v: float) -> str:
    a = abs(v)
    if float(v).is_integer() and a < 1e15:
        return str(int(v))
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 0.01:
        return f"{v:.2f}"
    return f"{v:.2g}"


def _value_text(v, unit: str, edges=()) -> str:
    if not is_finite_real(v):
        return "not measured"
    v = float(v)
    text = _number(v)
    # A value just past a limit must not read as the limit itself ("10.0" failing "≤ 10").
    for digits in range(2, 8):
        if not any(float(text) == e != v for e in edges):
            break
        text = f"{v:.{digits}f}"
    return _with_unit(text, unit)


def _with_unit(text: str, unit: str) -> str:
    if not unit:
        return text
    return f"{text}{unit}" if unit.startswith("/") else f"{text} {unit}"
