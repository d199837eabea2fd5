"""Figures for the report, each returned as PNG bytes.

Figures are built on :class:`matplotlib.figure.Figure` with an explicit Agg
canvas rather than through :mod:`matplotlib.pyplot`, so drawing a report never
selects or changes the user's matplotlib backend.  matplotlib itself is only
imported when a figure is drawn, which keeps ``import smpqa.report`` cheap.
"""

from __future__ import annotations

import io

import numpy as np

from ..io import load_image
from ..metrics.blowout import HALO_LIMIT
from ..region import dot_density

__all__ = [
    "FLAGS",
    "FLAG_COLOURS",
    "OVERSIZE_FACTOR",
    "flag_of_dots",
    "flag_counts",
    "overlay_png",
    "density_png",
    "diameter_hist_png",
]

#: Dot flags, in the order they are drawn and listed; each dot gets exactly one.
FLAGS = ("normal", "oversized", "merged", "blown_out")

#: Colour of each flag in the overlay (also used by the HTML legend).
FLAG_COLOURS = {
    "normal": "#22c55e",
    "oversized": "#ff8c00",
    "merged": "#ff00ff",
    "blown_out": "#ff1a1a",
}

#: A dot is oversized when its diameter exceeds this multiple of the median diameter.
OVERSIZE_FACTOR = 2.0

_DPI = 100
_CHART_W = 640  # px
_MIN_PX = 640  # smallest long side of the overlay
_FONT = 13  # pt
_TREATED_COLOUR = "#00e5ff"
_BAND_COLOUR = "#ffe600"
_FLAG_CODES = {name: i for i, name in enumerate(FLAGS)}


# ---------------------------------------------------------------------------------------------
# Flags


def flag_of_dots(analysis) -> np.ndarray:
    """The overlay flag of every dot, as indices into :data:`FLAGS`.

    Parameters
    ----------
    analysis : smpqa.analysis.Analysis

    Returns
    -------
    numpy.ndarray of int
        One code per dot.  A dot with several defects gets the first that
        applies of: merged, blown out (``halo_ratio >= HALO_LIMIT``),
        oversized (diameter above :data:`OVERSIZE_FACTOR` times the median
        diameter), so every dot is drawn once, in one colour.
    """
    dots = analysis.dots
    code = np.full(len(dots), _FLAG_CODES["normal"], dtype=np.int8)
    if len(dots) == 0:
        return code
    d = np.asarray(dots["diameter_px"], float)
    # NaN comparisons are False, so dots without a measurement stay "normal".
    with np.errstate(invalid="ignore"):
        oversized = d > OVERSIZE_FACTOR * np.nanmedian(d) if np.isfinite(d).any() else d > np.inf
        blown = np.asarray(dots["halo_ratio"], float) >= HALO_LIMIT
    merged = np.asarray(dots["merged"], bool)
    # Assign from least to most important so the most important flag wins.
    code[oversized] = _FLAG_CODES["oversized"]
    code[blown] = _FLAG_CODES["blown_out"]
    code[merged] = _FLAG_CODES["merged"]
    return code


def flag_counts(analysis) -> dict[str, int]:
    """How many dots carry each overlay flag (see :func:`flag_of_dots`).

    Parameters
    ----------
    analysis : smpqa.analysis.Analysis

    Returns
    -------
    dict
        Flag -> count, for every flag of :data:`FLAGS`, in that order; the
        counts add up to the number of dots.

    Examples
    --------
    >>> from smpqa import synth
    >>> from smpqa.analysis import analyze
    >>> photo = synth.render(synth.preset("merged", width_px=400, height_px=300))
    >>> a = analyze(photo.image, px_per_mm=photo.scene.px_per_mm)
    >>> flag_counts(a)["merged"] == int(a.dots["merged"].sum())
    True
    """
    codes = np.bincount(flag_of_dots(analysis), minlength=len(FLAGS))
    return {name: int(codes[i]) for i, name in enumerate(FLAGS)}


# ---------------------------------------------------------------------------------------------
# Figure plumbing


def _new_figure(width_px: float, height_px: float):
    # Imported here: importing matplotlib costs ~0.2 s and reports are optional.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_px / _DPI, height_px / _DPI), dpi=_DPI)
    FigureCanvasAgg(fig)
    return fig


def _png(fig, *, palette: bool = False) -> bytes:
    """Encode a figure; ``palette`` maps it to 256 colours, for photos (~6x smaller)."""
    buf = io.BytesIO()
    if not palette:
        fig.savefig(buf, format="png", dpi=_DPI, facecolor="white")
        return buf.getvalue()
    from PIL import Image

    fig.canvas.draw()
    rgb = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3])
    # Skin texture makes full-colour PNGs of photos several MB; an octree palette keeps the
    # flag colours exact enough and the report light enough for a phone.
    rgb.quantize(256, method=Image.Quantize.FASTOCTREE).save(buf, format="png")
    return buf.getvalue()


def _display_size(img: np.ndarray, max_px: int) -> tuple[np.ndarray, float]:
    """The photo resized for display: long side at most ``max_px``, and at least _MIN_PX.

    Small photos are enlarged (pixel for pixel) so that the dots and the legend stay legible.
    """
    from PIL import Image

    h, w = img.shape[:2]
    factor = min(max_px, max(_MIN_PX, h, w)) / max(h, w)
    if factor == 1.0:
        return img, 1.0
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    # LANCZOS keeps the dots crisp when a large photo shrinks; NEAREST invents nothing when
    # a small one grows.
    method = Image.Resampling.LANCZOS if factor < 1 else Image.Resampling.NEAREST
    return np.asarray(Image.fromarray(img).resize(size, method)), factor


# ---------------------------------------------------------------------------------------------
# Overlay


def overlay_png(rgb, analysis, *, max_px: int = 1400) -> bytes:
    """The photo with every detected dot circled in its flag's colour.

    Parameters
    ----------
    rgb : numpy.ndarray or path
        The analysed photo (anything :func:`smpqa.load_image` reads), of the
        size the analysis was made at.
    analysis : smpqa.analysis.Analysis
    max_px : int, default 1400
        Longest side of the shown photo; larger photos are downscaled.
        Photos smaller than 640 px are enlarged to 640 px (or ``max_px``).

    Returns
    -------
    bytes
        A PNG: the photo, a circle of the measured diameter around each dot
        coloured by :func:`flag_of_dots` (:data:`FLAG_COLOURS`), the treated
        region's outline (cyan), the hairline band (yellow hatching) and the
        hairline contour (yellow line), and a legend with the count of each flag.

    Raises
    ------
    ValueError
        If the photo's size differs from the one the analysis was made on.
    """
    img = load_image(rgb, max_pixels=None)
    h, w = analysis.regions["grid"].image_shape
    if img.shape[:2] != (h, w):
        raise ValueError(f"the photo is {img.shape[1]} x {img.shape[0]} px but the analysis "
                         f"was made on {w} x {h} px; pass the analysed photo")
    small, factor = _display_size(img, int(max_px))
    sh, sw = small.shape[:2]
    fontsize = float(np.clip(sw / 70, 8, 18))
    fig = _new_figure(sw, sh)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(small, extent=(-0.5, w - 0.5, h - 0.5, -0.5), interpolation="nearest")
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_axis_off()
    handles = _draw_dots(ax, analysis, factor, fontsize) + _draw_regions(ax, analysis)
    ncol = 4 if sw >= 560 else 2
    rows = -(-len(handles) // ncol)
    # Grow the figure below the photo, which keeps its pixels, to fit the legend's rows.
    legend_px = round(rows * fontsize * 1.9 * _DPI / 72 + 12)
    fig.set_size_inches(sw / _DPI, (sh + legend_px) / _DPI)
    ax.set_position((0, legend_px / (sh + legend_px), 1, sh / (sh + legend_px)))
    fig.legend(handles=handles, loc="lower center", ncol=ncol, frameon=False, fontsize=fontsize,
               handlelength=1.6, columnspacing=1.2, borderaxespad=0.3)
    return _png(fig, palette=True)


def _draw_dots(ax, analysis, factor: float, fontsize: float) -> list:
    from matplotlib.collections import EllipseCollection
    from matplotlib.lines import Line2D

    dots = analysis.dots
    codes = flag_of_dots(analysis)
    counts = flag_counts(analysis)
    # Rings rather than discs, so the dot itself stays visible inside its mark.
    lw = float(np.clip(1.2 * factor + 0.4, 0.5, 1.2))
    if len(dots):
        d = np.nan_to_num(np.asarray(dots["diameter_px"], float), nan=0.0)
        # One ring of the measured size, but never thinner than ~3 shown pixels to stay visible.
        d = np.maximum(d, 3.0 / max(factor, 1e-6))
        colours = np.array([FLAG_COLOURS[f] for f in FLAGS])[codes]
        coll = EllipseCollection(d, d, np.zeros_like(d), units="xy",
                                 offsets=np.column_stack([dots["x"], dots["y"]]),
                                 offset_transform=ax.transData, facecolors="none",
                                 edgecolors=colours, linewidths=lw)
        ax.add_collection(coll)
    return [Line2D([], [], ls="none", marker="o", mfc="none", mec=FLAG_COLOURS[f], mew=2,
                   ms=0.75 * fontsize, label=f"{_FLAG_WORDS[f]}: {counts[f]}") for f in FLAGS]


_FLAG_WORDS = {"normal": "normal", "oversized": "oversized", "merged": "merged",
               "blown_out": "blown-out"}


def _draw_regions(ax, analysis) -> list:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    regions = analysis.regions
    grid = regions["grid"]
    handles = []
    if np.any(regions["band"]):
        gx, gy, band = _closed(grid, regions["band"])
        ax.contourf(gx, gy, band, levels=[0.5, 1.5], colors="none", hatches=["//"],
                    edgecolor=_BAND_COLOUR, linewidth=0.6)
        ax.contour(gx, gy, band, levels=[0.5], colors=_BAND_COLOUR, linewidths=1.0)
        handles.append(Patch(facecolor="none", edgecolor=_BAND_COLOUR, hatch="//",
                             label="hairline band"))
    if np.any(regions["treated"]):
        # Drawn over the band, whose edge it often shares, so the cyan line stays visible.
        ax.contour(*_closed(grid, regions["treated"]), levels=[0.5], colors=_TREATED_COLOUR,
                   linewidths=2.0)
        handles.append(Line2D([], [], color=_TREATED_COLOUR, lw=2, label="treated region"))
    contour = np.asarray(regions.get("hairline_contour_px") or [], float).reshape(-1, 2)
    if len(contour) >= 2:
        ax.plot(contour[:, 0], contour[:, 1], color=_BAND_COLOUR, lw=2.5, ls="--")
        handles.append(Line2D([], [], color=_BAND_COLOUR, lw=2.5, ls="--", label="hairline"))
    return handles


def _closed(grid, mask):
    """Cell centres (px) and a float map with a ring of empty cells round it.

    The ring makes a region that runs off the photo get an outline along the
    frame too, instead of an open line.
    """
    cx, cy = grid.centres_px()
    c = grid.cell_px
    gx = np.concatenate([[cx[0, 0] - c], cx[0], [cx[0, -1] + c]])
    gy = np.concatenate([[cy[0, 0] - c], cy[:, 0], [cy[-1, 0] + c]])
    return gx, gy, np.pad(np.asarray(mask, float), 1)


# ---------------------------------------------------------------------------------------------
# Density map


def density_png(analysis, *, sigma_mm: float = 2.0) -> bytes:
    """A heat map of dots per cm² over the photo.

    Parameters
    ----------
    analysis : smpqa.analysis.Analysis
    sigma_mm : float, default 2.0
        Smoothing of the map (a display choice; the uniformity metrics use
        their own).

    Returns
    -------
    bytes
        A PNG in millimetre axes with a colour bar in dots/cm², and the
        treated region outlined.
    """
    grid = analysis.regions["grid"]
    dots = analysis.dots
    # dot_density gives dots per mm²; 100 mm² make a cm².
    dens = 100.0 * dot_density(grid, dots["x"], dots["y"], sigma_mm=sigma_mm)
    ppm = grid.px_per_mm
    # Cells cover whole cell_px steps from the photo's top-left pixel edge (x = -0.5 px).
    cells_w, cells_h = grid.shape[1] * grid.cell_px / ppm, grid.shape[0] * grid.cell_px / ppm
    h_mm, w_mm = grid.image_shape[0] / ppm, grid.image_shape[1] / ppm
    # Sized so that, shrunk to a phone's width, the labels stay legible.
    fig = _new_figure(_CHART_W, 0.72 * _CHART_W * min(1.2, max(0.4, h_mm / w_mm)) + 80)
    ax = fig.add_subplot()
    finite = dens[np.isfinite(dens)]
    vmax = float(np.percentile(finite, 99.5)) if finite.size and finite.max() > 0 else 1.0
    im = ax.imshow(dens, extent=(0, cells_w, cells_h, 0), cmap="viridis", vmin=0, vmax=vmax,
                   interpolation="bilinear", aspect="equal")
    ax.set_xlim(0, w_mm)
    ax.set_ylim(h_mm, 0)
    if np.any(analysis.regions["treated"]):
        gx, gy, treated = _closed(grid, analysis.regions["treated"])
        ax.contour((gx + 0.5) / ppm, (gy + 0.5) / ppm, treated, levels=[0.5],
                   colors="white", linewidths=1.2, linestyles="--")
    _style(ax, "Dots per cm²", "mm", "mm")
    bar = fig.colorbar(im, ax=ax, shrink=0.9)
    bar.set_label("dots / cm²", fontsize=_FONT)
    bar.ax.tick_params(labelsize=_FONT - 1)
    fig.tight_layout()
    return _png(fig)


# ---------------------------------------------------------------------------------------------
# Diameter histogram


def diameter_hist_png(analysis) -> bytes:
    """A histogram of the dot diameters with the profile's size limits.

    Parameters
    ----------
    analysis : smpqa.analysis.Analysis

    Returns
    -------
    bytes
        A PNG: diameters in mm (in px when the table has no scale), the
        profile's ``size.median_diameter_mm`` pass and warn limits as dashed
        lines, and the measured median diameter as a solid line.
    """
    d_mm = np.asarray(analysis.dots["diameter_mm"], float)
    in_mm = bool(np.isfinite(d_mm).any())
    values = d_mm if in_mm else np.asarray(analysis.dots["diameter_px"], float)
    values = values[np.isfinite(values)]
    unit = "mm" if in_mm else "px"
    fig = _new_figure(_CHART_W, 0.62 * _CHART_W)
    ax = fig.add_subplot()
    if values.size:
        ax.hist(values, bins=_bins(values), color="#64748b", edgecolor="white", linewidth=0.5)
    else:
        ax.text(0.5, 0.5, "no dots detected", transform=ax.transAxes, ha="center", va="center",
                fontsize=14, color="#6b7280")
    if in_mm:
        _limit_lines(ax, analysis)
    _style(ax, "Dot diameters", f"dot diameter ({unit})", "dots")
    ax.spines[["top", "right"]].set_visible(False)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, fontsize=_FONT - 2, loc="upper right")
    fig.tight_layout()
    return _png(fig)


def _style(ax, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=_FONT + 1)
    ax.set_xlabel(xlabel, fontsize=_FONT)
    ax.set_ylabel(ylabel, fontsize=_FONT)
    ax.tick_params(labelsize=_FONT - 1)


def _bins(values: np.ndarray) -> int:
    return int(np.clip(np.sqrt(values.size) * 1.5, 10, 80))


def _limit_lines(ax, analysis) -> None:
    limit = (analysis.parameters.get("profile", {}).get("size", {})
             .get("median_diameter_mm", {}))
    styles = (("pass", "#16a34a", "pass limit"), ("warn", "#dc2626", "warn limit (fail beyond)"))
    for key, colour, label in styles:
        # Two-sided limits are [low, high] pairs: draw both ends under one label.
        for i, v in enumerate(np.atleast_1d(np.asarray(limit.get(key, []), float))):
            ax.axvline(v, color=colour, ls="--", lw=1.5, label=label if i == 0 else None)
    median = (analysis.metrics.get("size") or {}).get("median_diameter_mm")
    if median is not None and np.isfinite(median):
        ax.axvline(median, color="#111827", lw=2, label=f"measured median {median:.2f} mm")
