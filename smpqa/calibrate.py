"""Physical scale from a printed ArUco marker lying on the scalp.

A square marker of known side (the black square, measured on the print) laid
flat on the scalp next to the work gives the photo's scale there: the mean of
its four side lengths in pixels over its side in millimetres. The corners are
found by :mod:`cv2.aruco` (with its sub-pixel corner refinement), then refined
once more on the photo decoded to linear light: in sRGB-encoded values a
blurred black-on-white edge looks shifted into the black by about 0.8 blur
sigmas, which made the square about 1 px too small (1 % at 12 px/mm); in
linear light the edge is symmetric and the bias drops to about 0.2 %.

The scale holds *at the marker's plane*. A marker seen at an angle is
foreshortened (its far side looks shorter, and the sides across the tilt
shrink by the cosine of the tilt), so the four sides differ; their spread
(standard deviation over the side in mm) is reported as the uncertainty. A
marker photographed square-on has four equal sides and a near-zero spread.
See docs/calibration.md.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import cv2
import numpy as np

from ._numbers import is_finite_real, is_integer
from .color import SRGB8_TO_LINEAR
from .errors import CalibrationError
from .io import load_image

__all__ = ["check_px_per_mm", "Marker", "MarkerScale", "marker_scale", "marker_region",
           "paint_over",
           "aruco_dictionary", "dictionary_names"]

#: Marker side grown by this share on every side when its pixels are excluded from the analysis.
EXCLUDE_GROW = 0.10


def check_px_per_mm(value) -> float:
    """A scale given by the caller as a positive finite float, or a CalibrationError.

    Examples
    --------
    >>> check_px_per_mm("20")
    20.0
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise CalibrationError(f"px_per_mm must be a number, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise CalibrationError(f"px_per_mm must be a positive finite number, got {value!r}")
    return v


def dictionary_names() -> list[str]:
    """Names of every predefined ``cv2.aruco`` dictionary (``DICT_4X4_50``, ...)."""
    return sorted(n for n in dir(cv2.aruco) if n.startswith("DICT_"))


def aruco_dictionary(name: str):
    """The predefined ``cv2.aruco.Dictionary`` called ``name``.

    Raises
    ------
    ValueError
        ``name`` is not a predefined dictionary; the message lists a few that are.
    """
    if not (isinstance(name, str) and name.startswith("DICT_") and hasattr(cv2.aruco, name)):
        raise ValueError(f"unknown ArUco dictionary {name!r}; use a cv2.aruco predefined name "
                         f"such as DICT_4X4_50, DICT_5X5_100, DICT_6X6_250 or DICT_ARUCO_ORIGINAL "
                         f"(all: {', '.join(dictionary_names())})")
    return cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, name))


def _dictionary_size(name: str) -> int:
    return int(aruco_dictionary(name).bytesList.shape[0])


@dataclass(frozen=True)
class Marker:
    """A printed ArUco marker: what to look for in the photo.

    Parameters
    ----------
    side_mm : float
        Side of the marker's black square as printed, in mm (measure the
        print: printers scale).
    dictionary : str
        Name of the ``cv2.aruco`` predefined dictionary it was made from.
    id : int or None
        Its id in the dictionary; ``None`` accepts any id, as long as the
        photo holds exactly one marker of the dictionary.

    Raises
    ------
    ValueError
        ``side_mm`` is not a finite number > 0, the dictionary is unknown, or
        the id is not in the dictionary.

    Examples
    --------
    >>> Marker(side_mm=10).dictionary
    'DICT_4X4_50'
    """

    side_mm: float = 10.0
    dictionary: str = "DICT_4X4_50"
    id: int | None = None

    def __post_init__(self):
        s = self.side_mm
        if not (is_finite_real(s) and s > 0):
            raise ValueError(f"marker side_mm must be a finite number > 0 (the printed black "
                             f"square's side in mm), got {s!r}")
        n = _dictionary_size(self.dictionary)
        i = self.id
        if i is not None and not (is_integer(i) and 0 <= i < n):
            raise ValueError(f"marker id must be None or an integer in 0..{n - 1} for "
                             f"{self.dictionary}, got {i!r}")

    def to_dict(self) -> dict:
        """JSON-safe ``{"side_mm", "dictionary", "id"}``."""
        return {"side_mm": float(self.side_mm), "dictionary": self.dictionary,
                "id": None if self.id is None else int(self.id)}


@dataclass(frozen=True)
class MarkerScale:
    """The scale found from a marker.

    Attributes
    ----------
    px_per_mm : float
        Mean of the four side lengths (px) over the printed side (mm).
    uncertainty_px_per_mm : float
        Standard deviation of the four side lengths over the printed side:
        near 0 square-on, larger the more the marker is tilted.
    corners_px : tuple of four (x, y)
        The black square's corners in pixels (pixel centres at integers), in
        ``cv2.aruco`` order: clockwise from the marker's own top-left corner.
    id : int
        The marker's id.
    """

    px_per_mm: float
    uncertainty_px_per_mm: float
    corners_px: tuple
    id: int

    def to_dict(self) -> dict:
        """JSON-safe dict of the four fields (``corners_px`` as a list of [x, y])."""
        return {"px_per_mm": self.px_per_mm, "uncertainty_px_per_mm": self.uncertainty_px_per_mm,
                "corners_px": [list(c) for c in self.corners_px], "id": self.id}


def _detector(dictionary: str):
    params = cv2.aruco.DetectorParameters()
    # Sub-pixel corners: the scale is only as good as the corners (0.1 px on a 200 px side
    # is 0.05 %), and the default contour corners are only pixel-accurate.
    params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
    params.cornerRefinementMinAccuracy = 0.01
    params.cornerRefinementMaxIterations = 100
    # Candidates whose corners lie closer than this share of the perimeter are one marker and
    # only the largest is decoded. The print's white margin (one module, 0.06 of the black
    # square's perimeter) is a candidate too; at OpenCV's default (0.125 in version 5.0) it
    # often wins over the marker in it, which is then lost. Contours of one marker differ by ~0.003.
    params.minMarkerDistanceRate = 0.02
    return cv2.aruco.ArucoDetector(aruco_dictionary(dictionary), params)


def _name_of(image, name) -> str:
    if name is not None:
        return str(name)
    return os.fspath(image) if isinstance(image, (str, os.PathLike)) else "the image array"


def _pick(ids, marker: Marker, where: str) -> int:
    """Index of the one detection that matches ``marker``; CalibrationError otherwise."""
    found = [int(i) for i in ids]
    advice = (f"print a {marker.dictionary} marker (see docs/calibration.md), lay it flat on "
              f"the scalp, in focus and with a white margin, or pass px_per_mm=...")
    if marker.id is not None:
        hits = [k for k, i in enumerate(found) if i == marker.id]
        if not hits:
            seen = f" (found ids {sorted(found)})" if found else ""
            raise CalibrationError(f"no ArUco marker {marker.dictionary} with id {marker.id} "
                                   f"found in {where}{seen}; {advice}")
        if len(hits) > 1:
            raise CalibrationError(f"{len(hits)} ArUco markers {marker.dictionary} with id "
                                   f"{marker.id} found in {where}; leave only one in the photo")
        return hits[0]
    if not found:
        raise CalibrationError(f"no ArUco marker {marker.dictionary} found in {where}; {advice}")
    if len(found) > 1:
        raise CalibrationError(f"{len(found)} ArUco markers {marker.dictionary} found in {where} "
                               f"(ids {sorted(found)}); pass Marker(id=...) (--marker-id) to "
                               f"say which one gives the scale")
    return 0


def marker_scale(image, marker: Marker, *, name=None) -> MarkerScale:
    """Find a printed marker in a photo and measure the scale at it.

    Parameters
    ----------
    image : str, os.PathLike or numpy.ndarray
        The photo (anything :func:`smpqa.load_image` accepts).
    marker : Marker
        What to look for.
    name : str, optional
        How to name the photo in error messages (default: its path, or
        "the image array").

    Returns
    -------
    MarkerScale

    Raises
    ------
    CalibrationError
        No matching marker, or more than one (the message names the ids).
    ImageError
        The photo cannot be read.

    Notes
    -----
    Works at any in-plane rotation and at moderate tilt (tested to 20
    degrees); the scale is that of the marker's plane, see the module notes.
    """
    if not isinstance(marker, Marker):
        raise TypeError(f"marker must be a smpqa.Marker, not {type(marker).__name__}")
    where = _name_of(image, name)
    rgb = load_image(image)
    corners, ids, _ = _detector(marker.dictionary).detectMarkers(
        cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    ids = [] if ids is None else np.asarray(ids).ravel()
    k = _pick(ids, marker, where)
    c = _linear_refine(rgb, np.asarray(corners[k], np.float32).reshape(4, 2), marker)
    sides = np.linalg.norm(np.roll(c, -1, axis=0) - c, axis=1)
    return MarkerScale(px_per_mm=float(sides.mean() / marker.side_mm),
                       uncertainty_px_per_mm=float(sides.std() / marker.side_mm),
                       corners_px=tuple((float(x), float(y)) for x, y in c), id=int(ids[k]))


def _linear_refine(rgb, corners, marker: Marker) -> np.ndarray:
    """Corners re-refined on linear-light luminance (see the module notes), float64 (4, 2)."""
    x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int) - 16, 0)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 17
    lin = SRGB8_TO_LINEAR[rgb[y0:y1, x0:x1]] @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    module = np.linalg.norm(np.roll(corners, -1, axis=0) - corners, axis=1).mean() / (
        aruco_dictionary(marker.dictionary).markerSize + 2)
    win = int(np.clip(round(0.3 * module), 2, 5))  # as cv2.aruco does: within one module
    pts = (corners - [x0, y0]).reshape(4, 1, 2).astype(np.float32)
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 100, 0.01)
    pts = cv2.cornerSubPix(np.ascontiguousarray(lin), pts, (win, win), (-1, -1), crit)
    refined = pts.reshape(4, 2).astype(np.float64) + [x0, y0]
    # The two refinements differ by a fraction of a pixel; more means this one went astray.
    return refined if np.abs(refined - corners).max() <= 2.0 else corners.astype(np.float64)


def _poly_mask(points, origin, shape) -> np.ndarray:
    """Pixels (in a window at ``origin``) whose centre lies in a polygon, as uint8 0/1."""
    out = np.zeros(shape, np.uint8)
    shift = 8  # fillPoly takes fixed-point vertices: 1/256 px keeps the corners sub-pixel
    pts = np.round((np.asarray(points) - origin) * (1 << shift)).astype(np.int32)
    cv2.fillPoly(out, [pts], 1, lineType=cv2.LINE_8, shift=shift)
    return out


def _scaled(corners, factor):
    centre = corners.mean(axis=0)
    return centre + factor * (corners - centre)


def marker_region(rgb, corners_px, *, grow=EXCLUDE_GROW) -> np.ndarray:
    """The marker's paper in the photo, to keep out of the analysis.

    The black square (``corners_px``), plus the bright paper margin around it
    (pixels brighter than halfway between the skin near the marker and the
    marker's white cells, connected to the square and within twice its
    size), grown by ``grow`` times the marker's side on every side.

    Parameters
    ----------
    rgb : numpy.ndarray
        The photo, RGB uint8 (H, W, 3).
    corners_px : array_like, (4, 2)
        The black square's corners (x, y), px.
    grow : float
        Extra margin, as a share of the side.

    Returns
    -------
    numpy.ndarray of bool, (H, W)
    """
    c = np.asarray(corners_px, np.float64).reshape(4, 2)
    h, w = rgb.shape[:2]
    side = float(np.linalg.norm(np.roll(c, -1, axis=0) - c, axis=1).mean())
    r = max(1, math.ceil(grow * side))
    box = _scaled(c, 2.5)
    x0, y0 = (max(0, math.floor(v) - r) for v in box.min(axis=0))
    x1, y1 = (min(n, math.ceil(v) + r + 1) for v, n in zip(box.max(axis=0), (w, h)))
    full = np.zeros((h, w), bool)
    if x1 <= x0 or y1 <= y0:
        return full
    origin, shape = np.array([x0, y0], float), (y1 - y0, x1 - x0)
    grey = cv2.GaussianBlur(cv2.cvtColor(rgb[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY), (0, 0), 1.0)
    square = _poly_mask(c, origin, shape)
    paper = square | _paper_margin(grey, c, origin, shape, square)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    full[y0:y1, x0:x1] = cv2.dilate(paper, disc).astype(bool)
    return full


def _paper_margin(grey, c, origin, shape, square) -> np.ndarray:
    """Bright pixels connected to the square within twice its size (the print's white margin)."""
    near = _poly_mask(_scaled(c, 2.0), origin, shape)
    ring = near.astype(bool) ^ _poly_mask(_scaled(c, 2.5), origin, shape).astype(bool)
    inside = grey[square.astype(bool)]
    if inside.size == 0 or not ring.any():
        return np.zeros(shape, np.uint8)
    skin, white = float(np.median(grey[ring])), float(np.percentile(inside, 90))
    if white - skin < 20:  # paper barely brighter than the skin: cannot tell them apart
        return np.zeros(shape, np.uint8)
    bright = ((grey > (skin + white) / 2) & near.astype(bool)) | square.astype(bool)
    n, labels = cv2.connectedComponents(bright.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(labels[square.astype(bool)])] = True
    keep[0] = False
    return keep[labels].astype(np.uint8)


def paint_over(rgb, region, *, ring_px=None) -> np.ndarray:
    """A copy of the photo with ``region`` filled with the median colour of the skin around it.

    Dot detection judges darkness against the local skin level; bright paper
    next to the skin would raise that level and make the bare skin along the
    print's edge look like dots. Painted over, the print reads as plain skin
    (with no dots, and it is left out of the judged region anyway).

    Parameters
    ----------
    rgb : numpy.ndarray
        The photo, RGB uint8 (H, W, 3).
    region : numpy.ndarray of bool, (H, W)
        What to paint over (see :func:`marker_region`).
    ring_px : int, optional
        Width of the ring around the region that gives the colour (default:
        a fifth of the region's size, at least 5 px).

    Returns
    -------
    numpy.ndarray
    """
    out = np.array(rgb, copy=True)
    if not region.any():
        return out
    ys, xs = np.nonzero(region)
    size = max(int(xs.max() - xs.min()), int(ys.max() - ys.min())) + 1
    r = ring_px or max(5, size // 5)
    y0, y1 = max(0, ys.min() - r), min(region.shape[0], ys.max() + r + 1)
    x0, x1 = max(0, xs.min() - r), min(region.shape[1], xs.max() + r + 1)
    win = region[y0:y1, x0:x1].astype(np.uint8)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    ring = cv2.dilate(win, disc).astype(bool) & ~win.astype(bool)
    if ring.any():  # a region filling the whole photo has no surroundings: leave it
        sub = out[y0:y1, x0:x1]
        sub[win.astype(bool)] = np.median(sub[ring], axis=0).astype(np.uint8)
    return out
