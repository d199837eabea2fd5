"""Regions of a photo on a coarse grid: region of interest, treated region, hairline band, interior.

Regions are boolean maps on a grid of square cells ``cell_px`` pixels wide
(about 0.25 mm), far cheaper than full-resolution masks for the distance
transforms and smoothing the metrics need. Cell (i, j) covers pixel rows
``[i * cell_px, (i + 1) * cell_px)`` and columns likewise.

The grid also knows the detector's frame margin (see :mod:`smpqa.frame`): no
dot is reported within it, so areas that dots are counted over are measured
on the observed area, the photo inset by the margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from ._numbers import is_finite_real
from .calibrate import check_px_per_mm
from .frame import frame_distance
from .metrics._grid_kernels import nearest_other

__all__ = ["Grid", "treated_region", "dot_density", "median_spacing_mm"]


@dataclass(frozen=True, slots=True)
class Grid:
    """A coarse grid over an image.

    Attributes
    ----------
    cell_px : float
        Cell side in pixels.
    shape : (int, int)
        Cells (rows, columns).
    image_shape : (int, int)
        Pixels (rows, columns) of the photo.
    px_per_mm : float
    margin_px : float
        Width of the strip along the photo's frame in which the dots were not
        looked for (``DotTable.meta["frame_margin_px"]``); 0 when every dot
        of the photo was.
    """

    cell_px: float
    shape: tuple[int, int]
    image_shape: tuple[int, int]
    px_per_mm: float
    margin_px: float = 0.0

    @classmethod
    def for_image(cls, image_shape, px_per_mm, cell_mm=0.25, margin_px=0.0) -> Grid:
        """A grid of about ``cell_mm`` cells (at least 1 px) over an image of ``image_shape``.

        ``margin_px`` is the detector's frame margin (``DotTable.meta["frame_margin_px"]``).
        """
        px_per_mm = check_px_per_mm(px_per_mm)
        if not (is_finite_real(cell_mm) and cell_mm > 0):
            raise ValueError(f"cell_mm must be a positive number, got {cell_mm!r}")
        cell = max(1.0, cell_mm * px_per_mm)
        h, w = int(image_shape[0]), int(image_shape[1])
        return cls(cell, (max(1, math.ceil(h / cell)), max(1, math.ceil(w / cell))), (h, w),
                   float(px_per_mm)).with_margin(margin_px)

    def with_margin(self, margin_px) -> Grid:
        """The same grid with the detector's frame margin ``margin_px`` (px, >= 0)."""
        margin = float(margin_px)
        if not (math.isfinite(margin) and margin >= 0):
            raise ValueError(f"margin_px must be a number >= 0, got {margin_px!r}")
        return replace(self, margin_px=margin)

    @property
    def cell_mm(self) -> float:
        return self.cell_px / self.px_per_mm

    @property
    def cell_area_mm2(self) -> float:
        return self.cell_mm**2

    def cell_of(self, x, y):
        """Cell (row, column) indices of pixel positions (x = column), clipped to the grid."""
        i = np.clip((np.asarray(y) + 0.5) // self.cell_px, 0, self.shape[0] - 1).astype(np.intp)
        j = np.clip((np.asarray(x) + 0.5) // self.cell_px, 0, self.shape[1] - 1).astype(np.intp)
        return i, j

    def centres_px(self):
        """Pixel (x, y) of every cell's centre, as two (rows, columns) arrays."""
        c = (np.arange(self.shape[1]) + 0.5) * self.cell_px - 0.5
        r = (np.arange(self.shape[0]) + 0.5) * self.cell_px - 0.5
        return np.meshgrid(c, r)

    def observed(self):
        """Fraction of each cell inside the observed area: the photo less its frame margin.

        Partial cells lie along the margin and at the grid's far edges; cells
        wholly in the margin are 0.
        """
        h, w = self.image_shape
        return self._span(h, self.shape[0])[:, None] * self._span(w, self.shape[1])[None, :]

    def _span(self, length, n):
        """Fraction of each of ``n`` cells along an axis within margin .. length - margin."""
        lo = np.arange(n) * self.cell_px
        inside = (np.minimum(lo + self.cell_px, length - self.margin_px)
                  - np.maximum(lo, self.margin_px))
        return np.clip(inside, 0, self.cell_px) / self.cell_px

    def edge_distance(self, x, y):
        """Distance (px) from pixel positions to the edge of the observed area (negative outside).

        Examples
        --------
        >>> grid = Grid.for_image((100, 200), 20.0, margin_px=15.0)
        >>> grid.edge_distance([100.0, 10.0], [50.0, 50.0]).tolist()
        [34.5, -4.5]
        """
        return frame_distance(x, y, self.image_shape) - self.margin_px

    def cell_mask(self, mask, name: str) -> np.ndarray:
        """``mask`` as a bool array of the grid's shape; ValueError naming ``name`` otherwise."""
        mask = np.asarray(mask, bool)
        if mask.shape != tuple(self.shape):
            raise ValueError(f"{name} mask has shape {mask.shape}, the grid {self.shape}")
        return mask

    def upsample(self, mask):
        """A cell map at full image resolution (nearest cell)."""
        h, w = self.image_shape
        i = np.minimum((np.arange(h) + 0.5) // self.cell_px, self.shape[0] - 1).astype(np.intp)
        j = np.minimum((np.arange(w) + 0.5) // self.cell_px, self.shape[1] - 1).astype(np.intp)
        return np.asarray(mask)[i[:, None], j[None, :]]


def median_spacing_mm(x, y, px_per_mm) -> float:
    """Median nearest-neighbour distance of the dots, mm (1.0 with fewer than two dots).

    Examples
    --------
    >>> median_spacing_mm([0, 20, 40], [0, 0, 0], 20)
    1.0
    """
    px_per_mm = check_px_per_mm(px_per_mm)
    if len(x) < 2:
        return 1.0
    # Copies: writable and contiguous, as measure_uniformity passes them (one compiled kernel).
    x, y = np.array(x, float), np.array(y, float)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        pts = np.stack([x, y], 1)
        return float(np.median(cKDTree(pts).query(pts, k=2)[0][:, 1])) / px_per_mm
    return float(np.median(nearest_other(x, y))) / px_per_mm


def dot_density(grid: Grid, x, y, sigma_mm, weights=None, roi=None):
    """Smoothed dots per mm², edge-corrected by normalised convolution.

    Parameters
    ----------
    grid : Grid
    x, y : array_like
        Dot centres, px.
    sigma_mm : float
        Gaussian smoothing.
    weights : array_like, optional
        Per-dot weights (e.g. area) instead of counts.
    roi : (rows, columns) bool array, optional
        Cells that count as observed; the default is the whole photo less the
        grid's frame margin.

    Returns
    -------
    numpy.ndarray
        Density per mm² on the grid (NaN outside the observed cells).
    """
    return _density(grid, x, y, sigma_mm, weights, roi)[0]


def _gaussian_taps(sigma, truncate=4.0):
    """The taps of scipy.ndimage.gaussian_filter's kernel for ``sigma`` (cells)."""
    radius = int(truncate * float(sigma) + 0.5)
    taps = np.exp(-0.5 / (sigma * sigma) * np.arange(-radius, radius + 1) ** 2)
    return taps / taps.sum()


def _gaussian(a, taps):
    """``scipy.ndimage.gaussian_filter(a, sigma, mode="constant")`` up to round-off.

    OpenCV's separable filter, about three times faster on the grid's float64
    maps; scipy's own passes on grids narrower than the kernel.
    """
    a = np.ascontiguousarray(a, np.float64)
    if min(a.shape) < taps.size:
        return ndimage.correlate1d(ndimage.correlate1d(a, taps, 0, mode="constant"),
                                   taps, 1, mode="constant")
    return cv2.sepFilter2D(a, cv2.CV_64F, taps, taps, borderType=cv2.BORDER_CONSTANT)


def _density(grid: Grid, x, y, sigma_mm, weights=None, roi=None):
    """:func:`dot_density` and whether each cell is observed (where it is not NaN)."""
    counts = np.zeros(grid.shape)
    if np.size(x):
        i, j = grid.cell_of(x, y)
        np.add.at(counts, (i, j), 1.0 if weights is None else np.asarray(weights, float))
    h, w = grid.image_shape
    rows, cols = grid._span(h, grid.shape[0]), grid._span(w, grid.shape[1])
    valid = rows[:, None] * cols[None, :]  # Grid.observed()
    taps = _gaussian_taps(sigma_mm / grid.cell_mm)
    if roi is None:
        # The observed share is a product of a row and a column profile: so is its blur.
        den = (ndimage.correlate1d(rows, taps, mode="constant")[:, None]
               * ndimage.correlate1d(cols, taps, mode="constant")[None, :])
    else:
        valid = valid * np.asarray(roi, float)
        den = _gaussian(valid, taps)
    seen = valid > 0
    counts[~seen] = 0.0
    dens = _gaussian(counts, taps)  # in place from here: the maps are large
    den *= grid.cell_area_mm2
    with np.errstate(invalid="ignore", divide="ignore"):
        np.divide(dens, den, out=dens)
    dens[~seen] = np.nan
    return dens, seen


def _fill_holes(mask):
    """``scipy.ndimage.binary_fill_holes(mask)``: background (4-connected) not reaching the border.

    By OpenCV's connected components, several times faster.
    """
    n, labels = cv2.connectedComponents((~mask).view(np.uint8), connectivity=4,
                                        ltype=cv2.CV_32S)
    keep = np.ones(n, bool)  # label 0 is the mask itself
    for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        keep[edge] = False
    keep[0] = True
    return keep[labels]


def treated_region(grid: Grid, x, y, *, spacing_mm, roi=None, level=0.25, close_mm=4.0):
    """Where pigment was applied: the dot density's support, closed, inner holes kept.

    Parameters
    ----------
    grid : Grid
    x, y : array_like
        Dot centres, px.
    spacing_mm : float
        Typical distance between neighbouring dots; the density is smoothed
        over this so that single gaps between dots do not punch holes.
    roi : bool array on the grid, optional
    level : float
        Fraction of the work's typical density (the 90th percentile) that
        counts as worked.
    close_mm : float
        Radius of the morphological closing: bare patches up to about twice
        this wide inside the work (or cutting into it from the frame's edge)
        belong to the work and are judged as gaps; wider bare areas at the
        frame's edge are margins.

    Returns
    -------
    numpy.ndarray of bool
        The treated region on the grid; empty when there are no dots.
    """
    if np.size(x) == 0:
        return np.zeros(grid.shape, bool)
    dens, seen = _density(grid, x, y, spacing_mm, roi=roi)  # NaN exactly where not seen
    thresh = level * (np.percentile(dens[seen], 90) if seen.any() else np.nan)
    support = dens >= thresh  # NaN cells, 0 to np.nan_to_num, reach a threshold <= 0 only
    if thresh <= 0:
        support |= ~seen
    support = support.view(np.uint8)
    k = max(1, int(round(close_mm / grid.cell_mm)))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
    # Reflecting the border keeps the closing from eating into work that runs off the frame.
    padded = cv2.copyMakeBorder(support, k, k, k, k, cv2.BORDER_REFLECT)
    closed = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, disc)[k:-k, k:-k].astype(bool)
    # A bare patch inside the work is a defect to judge, not a margin: keep holes.
    mask = _fill_holes(closed)
    if roi is not None:
        mask &= np.asarray(roi, bool)
    return mask
