"""analyze(): photo -> dots -> regions -> metrics -> verdicts, in one call."""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import __version__
from .calibrate import (
    Marker,
    MarkerScale,
    check_px_per_mm,
    marker_region,
    marker_scale,
    paint_over,
)
from .detect import DotTable, detect_dots
from .errors import CalibrationError, RegionError, SmpqaWarning
from .frame import FRAME_MARGIN_KEY
from .io import read_px_per_mm, rgb8_view, shown_name
from .metrics.blowout import measure_blowout
from .metrics.colour import measure_colour
from .metrics.darkness import measure_darkness
from .metrics.hairline import measure_hairline
from .metrics.size import measure_size
from .metrics.stubble import MIN_HAIRS, measure_stubble
from .metrics.uniformity import measure_uniformity
from .profile import CRITERIA, Profile, Verdict, worst
from .region import Grid, median_spacing_mm, treated_region
from .roi import load_roi

__all__ = ["analyze", "Analysis", "SCHEMA_VERSION", "SMALL_DOT_PX"]

#: Version of the layout of :meth:`Analysis.to_dict`; bumped on any incompatible change.
SCHEMA_VERSION = "1.0"
_VIEWS = (None, "front")
#: Median dot diameter (px) below which the size, darkness and colour verdicts say that the
#: photo's resolution limits them: dots under ~4 px read several percent large, their cores
#: light and, after strong JPEG compression, neutral pigment as slightly coloured
#: (docs/detection.md, "Accuracy by resolution and compression").
SMALL_DOT_PX = 4.0
_WELL_SIZED_PX = 4.5  # the dot size the advice on the scale aims at (errors within ~3 %)


@dataclass(frozen=True)
class Analysis:
    """The audit of one photo.

    Attributes
    ----------
    dots : DotTable
        Every detected dot.
    metrics : dict
        Criterion -> {metric name: value}; values in the units their names say.
    verdicts : dict
        Criterion -> :class:`~smpqa.profile.Verdict`, for exactly the keys
        ``size``, ``darkness``, ``colour``, ``uniformity``, ``hairline``, ``blowout``.
    grade : dict
        ``{"status": worst criterion status, "summary": one sentence}``.
    scale : dict
        ``{"px_per_mm": float, "method": "argument" | "marker" | "metadata"}``;
        from a marker also ``uncertainty_px_per_mm``, ``marker_corners_px``,
        ``marker_id`` and ``marker`` (its spec); with both an argument and a
        marker, ``marker_px_per_mm`` as a cross-check.
    source : str
        The photo's path, or ``"array"``.
    parameters : dict
        The options used, the profile included.
    regions : dict
        ``grid`` (:class:`~smpqa.region.Grid`, with the detector's frame
        margin) and bool maps ``treated``, ``band``, ``interior`` on it, plus
        the hairline contour; for reports.
    """

    dots: DotTable
    metrics: dict
    verdicts: dict
    grade: dict
    scale: dict
    source: str
    parameters: dict
    regions: dict = field(repr=False)

    def to_dict(self) -> dict:
        """JSON-safe summary (no per-dot rows; see :meth:`DotTable.to_csv`)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "smpqa_version": __version__,
            "source": self.source,
            "scale": self.scale,
            "parameters": self.parameters,
            "n_dots": len(self.dots),
            "glare_fraction": float(self.dots.meta.get("glare_fraction", 0.0)),
            "metrics": _json_safe(self.metrics),
            "verdicts": {k: v.to_dict() for k, v in self.verdicts.items()},
            "grade": self.grade,
        }

    def to_json(self, **kwargs) -> str:
        """:meth:`to_dict` as strict JSON (no NaN)."""
        kwargs.setdefault("indent", 1)
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)


def _json_safe(obj):
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def _resolve_scale(image, px_per_mm):
    """Scale from the argument, else the photo's metadata (docs/contracts.md#scale).

    The printed marker, second in that order, is looked for by :func:`analyze`
    itself (it needs the decoded photo); this is called when there is none.
    """
    if px_per_mm is not None:
        return {"px_per_mm": check_px_per_mm(px_per_mm), "method": "argument"}
    if isinstance(image, (str, os.PathLike)):
        v = read_px_per_mm(image)
        if v is not None:
            return {"px_per_mm": v, "method": "metadata"}
    name = shown_name(image) if isinstance(image, (str, os.PathLike)) else "the image array"
    raise CalibrationError(
        f"no scale for {name}: pass px_per_mm=... (pixels per millimetre at the scalp; "
        f"measure a ruler in the photo), or photograph a printed ArUco marker on the scalp "
        f"and pass marker=smpqa.Marker(side_mm=...) (--marker-mm; see docs/calibration.md), "
        f"or use a photo written by `smpqa synth`, which stores its scale")


def _marker_scale(image, rgb, marker, scale):
    """Find the marker; it gives the scale unless an explicit ``px_per_mm`` did."""
    if not isinstance(marker, Marker):
        raise TypeError(f"marker must be a smpqa.Marker, not {type(marker).__name__}")
    name = shown_name(image) if isinstance(image, (str, os.PathLike)) else "the image array"
    found: MarkerScale = marker_scale(rgb, marker, name=name)
    if scale is not None:  # the argument wins; the marker still checks it and is masked out
        return {**scale, "marker_px_per_mm": found.px_per_mm}, found
    return {"px_per_mm": found.px_per_mm, "method": "marker",
            "uncertainty_px_per_mm": found.uncertainty_px_per_mm,
            "marker_corners_px": [list(c) for c in found.corners_px], "marker_id": found.id,
            "marker": marker.to_dict()}, found


def _roi_name(roi):
    if roi is None or isinstance(roi, str) and roi == "auto":
        return roi
    if isinstance(roi, (str, os.PathLike)):
        return os.fspath(roi)
    return "polygon" if isinstance(roi, dict) else "array"


def _roi_cells(mask, exclude, grid: Grid):
    """Grid cells to judge: the roi's (sampled at cell centres) minus any touching ``exclude``."""
    if mask is None and exclude is None:
        return None
    cells = np.ones(grid.shape, bool)
    if mask is not None:
        cx, cy = grid.centres_px()
        h, w = grid.image_shape
        cells = mask[np.clip(np.round(cy).astype(int), 0, h - 1),
                     np.clip(np.round(cx).astype(int), 0, w - 1)]
        if not cells.any():
            raise RegionError("the roi is empty on the analysis grid (0.25 mm cells): mark "
                              "a larger part of the scalp")
    if exclude is not None:
        ys, xs = np.nonzero(exclude)
        cells[grid.cell_of(xs, ys)] = False
        if not cells.any():
            raise RegionError("nothing is left to judge once the marker is left out: the "
                              "marker covers the whole roi")
    return cells


def _drop_marker_dots(dots: DotTable, exclude) -> DotTable:
    """Remove the "dots" found on the marker's paper (its black cells look like huge dots)."""
    if exclude is None or len(dots) == 0:
        return dots
    h, w = exclude.shape
    on = exclude[np.clip(np.round(dots["y"]).astype(int), 0, h - 1),
                 np.clip(np.round(dots["x"]).astype(int), 0, w - 1)]
    return dots.select(~on) if on.any() else dots


def analyze(image, *, px_per_mm=None, marker=None, profile=None, roi=None,
            view=None) -> Analysis:
    """Audit SMP work in a photo: detect the dots, measure each criterion, judge it.

    Parameters
    ----------
    image : str, os.PathLike or numpy.ndarray
        The photo (anything :func:`smpqa.load_image` accepts).
    px_per_mm : float, optional
        Scale at the scalp. Without it, the printed marker's scale (when
        ``marker`` is given), else the scale stored by ``smpqa synth`` in the
        PNG is used; otherwise :class:`~smpqa.CalibrationError`.
    marker : Marker, optional
        A printed ArUco marker lying on the scalp in the photo (see
        docs/calibration.md). It must be found (else
        :class:`~smpqa.CalibrationError`); it gives the scale unless
        ``px_per_mm`` does, and its paper (grown by 10 % of its side) is
        left out of the judged region and its "dots" dropped.
    profile : Profile, str, os.PathLike or dict, optional
        Thresholds (default: :meth:`Profile.default`); a path loads a TOML or
        JSON profile, a dict overrides the default.
    roi : numpy.ndarray, str, os.PathLike or dict, optional
        Where the scalp is to be judged: a mask of the photo's size (array or
        image file, non-zero inside), a JSON polygon file or dict
        ``{"polygon": [[x, y], ...]}`` in pixels, or ``"auto"`` for the
        skin-coloured part of the photo; see :func:`smpqa.roi.load_roi`.
    view : {None, "front"}
        ``"front"`` enables the left/right hairline asymmetry check.

    Returns
    -------
    Analysis
        When the median dot spans fewer than :data:`SMALL_DOT_PX` pixels, the size,
        darkness and colour verdicts end with a sentence saying that the resolution
        limits them and at what scale to photograph instead (their status is
        unchanged; a ``not_applicable`` verdict gets no sentence).

    Raises
    ------
    ImageError, CalibrationError, ProfileError, RegionError

    Examples
    --------
    >>> from smpqa import synth, analyze
    >>> photo = synth.render(synth.preset("good_medium", width_px=600, height_px=450))
    >>> a = analyze(photo.image, px_per_mm=photo.scene.px_per_mm)
    >>> sorted(a.verdicts) == sorted(["size", "darkness", "colour", "uniformity",
    ...                               "hairline", "blowout"])
    True
    """
    if view not in _VIEWS:
        raise ValueError(f"view must be None or 'front', got {view!r}")
    prof = _as_profile(profile)
    # Argument -> marker -> metadata: all but the marker are known before decoding the photo.
    scale = None if marker is not None and px_per_mm is None else _resolve_scale(image,
                                                                                 px_per_mm)
    rgb = rgb8_view(image)
    found = None
    if marker is not None:
        scale, found = _marker_scale(image, rgb, marker, scale)
    ppm = scale["px_per_mm"]
    source = os.fspath(image) if isinstance(image, (str, os.PathLike)) else "array"
    mask = None if roi is None else load_roi(roi, rgb.shape[:2], rgb=rgb, px_per_mm=ppm)
    exclude = None if found is None else marker_region(rgb, found.corners_px)
    grid = Grid.for_image(rgb.shape[:2], ppm)
    roi_cells = _roi_cells(mask, exclude, grid)
    # The print is painted over before detection: its bright paper would make the skin along
    # its edge look dark; then anything still found on it is dropped.
    shown = rgb if exclude is None else paint_over(rgb, exclude)
    dots = _drop_marker_dots(detect_dots(shown, px_per_mm=ppm), exclude)
    # No dot is reported along the frame: areas are measured without that margin.
    grid = grid.with_margin(dots.meta[FRAME_MARGIN_KEY])
    params = {"px_per_mm": ppm, "view": view, "roi": roi is not None,
              "roi_source": _roi_name(roi),
              "marker": None if marker is None else marker.to_dict(),
              "profile": prof.to_dict(), "profile_source": prof.source}
    if len(dots) == 0:
        empty = np.zeros(grid.shape, bool)
        return _finish(dots, {}, {c: prof.not_applicable(c, "no pigment dots found")
                                  for c in CRITERIA}, scale, source, params,
                       {"grid": grid, "treated": empty, "band": empty, "interior": empty,
                        "hairline_contour_px": []})
    x, y = dots["x"], dots["y"]
    treated = treated_region(grid, x, y, spacing_mm=median_spacing_mm(x, y, ppm), roi=roi_cells)
    hair = measure_hairline(x, y, grid, treated, view=view)
    interior = treated & ~hair.band if hair.found else treated
    ci, cj = grid.cell_of(x, y)
    inside = interior[ci, cj]
    in_roi = treated[ci, cj]
    cells = treated
    stubble = measure_stubble(shown, x, y, dots["diameter_px"], ppm,
                              valid=lambda px, py: cells[grid.cell_of(px, py)])
    colour = measure_colour(_lab(dots, "skin", in_roi), _lab(dots, "core", in_roi),
                            dots["area_px"][in_roi])
    metrics = {
        "size": measure_size(dots["diameter_mm"][inside]).metrics(),
        "darkness": measure_darkness(dots["depth"][in_roi], dots["delta_L"][in_roi],
                                     stubble).metrics(),
        "colour": colour.metrics(),
        "uniformity": measure_uniformity(x, y, dots["diameter_px"], grid, interior).metrics(),
        "hairline": hair.metrics(),
        "blowout": measure_blowout(dots["halo_ratio"][in_roi], dots["merged"][in_roi]).metrics(),
    }
    _warn_unmeasured_limits(prof, metrics)
    verdicts = {c: prof.judge(c, metrics[c]) for c in CRITERIA}
    if not hair.found:
        verdicts["hairline"] = prof.not_applicable("hairline", "no hairline edge in the photo")
    if colour.reason:
        verdicts["colour"] = prof.not_applicable("colour", colour.reason)
    caveat = _resolution_caveat(dots["diameter_px"][in_roi], ppm)
    for c in ("size", "darkness", "colour") if caveat else ():
        if verdicts[c].status != "not_applicable":
            verdicts[c] = _with_reason(verdicts[c], caveat)
    if (stubble.reason and stubble.n_hairs >= MIN_HAIRS
            and verdicts["darkness"].status != "not_applicable"):
        # Stubble was seen but could not be compared: say why.
        verdicts["darkness"] = _with_reason(verdicts["darkness"],
                                            f"not compared with the stubble: {stubble.reason}")
    regions = {"grid": grid, "treated": treated, "band": hair.band if hair.found else
               np.zeros(grid.shape, bool), "interior": interior,
               "hairline_contour_px": hair.contour_px.tolist() if hair.found else []}
    return _finish(dots, metrics, verdicts, scale, source, params, regions)


def _with_reason(v: Verdict, reason: str) -> Verdict:
    """``v`` with one more sentence among its reasons (its status unchanged)."""
    return Verdict(v.status, v.reasons + (reason,), v.values, v.thresholds)


def _resolution_caveat(diameter_px, px_per_mm) -> str | None:
    """The sentence the size, darkness and colour verdicts carry when the dots are too small.

    None when the median dot spans at least :data:`SMALL_DOT_PX` (or there are no dots).
    """
    if diameter_px.size == 0:
        return None
    d = float(np.median(diameter_px))
    if not d < SMALL_DOT_PX:
        return None
    need = math.ceil(px_per_mm * _WELL_SIZED_PX / max(d, 1e-6))
    return (f"the dots span only {d:.1f} px (median): below {SMALL_DOT_PX:g} px, size, darkness "
            f"and colour read less reliably, more so after JPEG compression; photograph at "
            f"{need} px/mm or more")


def _warn_unmeasured_limits(prof: Profile, metrics) -> None:
    """Warn of each enabled limit on a metric its criterion does not measure: it never applies.

    A profile may name any metric (``Profile.judge`` serves the caller's own too), so a
    misspelt one is no error there; here it would be silently ignored.
    """
    for c in CRITERIA:
        unknown = sorted(m for m, lim in prof[c].items() if lim.enabled and m not in metrics[c])
        if unknown:
            warnings.warn(f"profile {prof.source}: {c} has no metric {', '.join(unknown)} (it "
                          f"measures {', '.join(metrics[c])}), so that limit is never applied",
                          SmpqaWarning, stacklevel=3)


def _lab(dots, which, sel):
    return np.stack([dots[f"{which}_L"][sel], dots[f"{which}_a"][sel], dots[f"{which}_b"][sel]], 1)


def _as_profile(profile) -> Profile:
    if profile is None:
        return Profile.default()
    if isinstance(profile, Profile):
        return profile
    if isinstance(profile, dict):
        return Profile.from_dict(profile)
    if isinstance(profile, (str, os.PathLike)):
        return Profile.load(profile)
    raise TypeError(f"profile must be a Profile, a dict or a path, not {type(profile).__name__}")


def _finish(dots, metrics, verdicts, scale, source, params, regions) -> Analysis:
    status = worst(v.status for v in verdicts.values())
    bad = [c for c, v in verdicts.items() if v.status in ("warn", "fail")]
    if status == "not_applicable":
        summary = verdicts["size"].reasons[0] if verdicts["size"].reasons else "nothing to judge"
    elif bad:
        summary = f"{status}: " + ", ".join(f"{c} {verdicts[c].status}" for c in bad)
    else:
        summary = "pass: every criterion within the pass limits"
    return Analysis(dots, metrics, verdicts, {"status": status, "summary": summary}, scale,
                    source, params, regions)
