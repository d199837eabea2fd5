"""Uniformity of the dot pattern inside the interior of the work.

Even SMP work is a jittered lattice: tile counts vary less than chance would
have them (tile VMR < 1), the dots' nearest neighbours sit about one spacing
away (Clark-Evans R well above 1), and no hole is much wider than a few
spacings. Patchy work shows the opposite. Every metric is computed on the
*interior* (the treated region minus the hairline band), given as a boolean
mask on a :class:`~smpqa.region.Grid`; a dot belongs to the interior when its
centre's grid cell does. Areas, and distances to the window's edge, are those
of the interior within the grid's observed area: the detector reports no dot
within its frame margin (see :mod:`smpqa.frame`), so that strip is left out.

Definitions
-----------
tile_vmr
    Variance-to-mean ratio (sample variance, ddof = 1) of the interior dot
    counts on square tiles of ``tile_mm`` laid from the interior's bounding
    box corner; only tiles at least 95 % covered by the interior count.
coverage_cv
    Coefficient of variation across the same tiles of the pigmented share:
    the summed disc areas pi (d / 2)^2 of the tile's interior dots over the
    tile's interior area (a disc counts wholly in the tile of its centre).
empty_circle_ratio
    Diameter of the largest circle that contains no dot centre and stays
    inside the interior and the observed area, over the median nearest-neighbour
    distance of the interior dots (the sparse hairline band and the margins
    beyond it are not gaps in the work). A distance transform on the grid
    finds the candidates; exact distances at 3 x 3 points per candidate cell
    then give the radius to within 0.24 cell, plus half a cell where the
    interior's edge bounds it.
clark_evans_r
    Mean nearest-neighbour distance over its expectation 0.5 / sqrt(lambda)
    for a Poisson pattern of the interior's density lambda. Edge-corrected by
    the border method: only dots farther from the interior's edge (and the
    observed area's) than their nearest neighbour enter the mean, so that no
    neighbour outside the window can have been missed; each is weighted by
    1 / the area of the interior lying farther than its distance from the
    edge (Hanisch), which removes the border method's bias towards short
    distances.
density_per_cm2
    Interior dots per cm^2 of interior (its observed part: the frame margin,
    where the detector reports no dot, is not counted as area).
cluster_share
    Share of interior dots whose neighbourhood holds more than 2.5 x the
    median count over the interior dots. The neighbourhood is a square of
    grid cells around the dot's cell with the area of a disc of 1.5 typical
    spacings radius (1.5 / sqrt(lambda), about 1.6 mm at 90 dots/cm^2); it
    counts every dot of the photo, the dot itself included. A radius in
    spacings keeps about 8 dots in an even neighbourhood whatever the
    density, so chance alone rarely crosses the limit. The median is taken
    over dots, so in patchy work the dense patches, where most dots sit, set
    the reference: the share flags spots over-worked even for their
    surroundings, not the dense half of a patchy pattern.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from ..region import Grid
from ._grid_kernels import nearest_other
from ._util import distance_transform, finite_or_none

__all__ = ["Uniformity", "measure_uniformity", "METRIC_NAMES", "MIN_TILES", "MIN_DOTS",
           "MIN_TILE_FILL", "CLUSTER_RADIUS_SPACINGS", "CLUSTER_FACTOR"]

#: Names of the metrics, in report order.
METRIC_NAMES = ("tile_vmr", "coverage_cv", "empty_circle_ratio", "clark_evans_r",
                "density_per_cm2", "cluster_share")
#: Fewer full tiles than this and the tile statistics mean nothing.
MIN_TILES = 4
#: Fewer interior dots than this and no pattern statistic means anything.
MIN_DOTS = 10
#: Share of a tile that must lie in the interior for the tile to count.
MIN_TILE_FILL = 0.95
#: Radius of the cluster neighbourhood, in typical spacings 1 / sqrt(density).
CLUSTER_RADIUS_SPACINGS = 1.5
#: A dot sits in a cluster when its neighbourhood count exceeds this x the median.
CLUSTER_FACTOR = 2.5

_SUBSAMPLES = np.array([-1.0, 0.0, 1.0]) / 3.0  # sub-cell offsets, in cells
_EMPTY_SEED = 1024  # at most this many seed cells
_EMPTY_MAX = 20000  # cells examined at most: bounds the time on perfectly even patterns
_POLISH = 256  # best sample points whose Voronoi vertex is tried
_WHY_NONE = {
    "tile_vmr": "tile_vmr is undefined: the full tiles hold no dots",
    "coverage_cv": "coverage_cv is undefined: the full tiles hold no pigment",
    "empty_circle_ratio": "empty_circle_ratio is undefined: the median nearest-neighbour "
                          "distance is 0 (duplicate dots)",
    "clark_evans_r": "clark_evans_r is undefined: no dot lies farther from the interior's "
                     "edge than from its nearest neighbour",
    "density_per_cm2": "density_per_cm2 is undefined",
    "cluster_share": "cluster_share is undefined",
}


@dataclass(frozen=True, slots=True)
class Uniformity:
    """Uniformity metrics of the interior's dot pattern.

    Attributes
    ----------
    tile_vmr, coverage_cv, empty_circle_ratio, clark_evans_r : float or None
        See the module's docstring; None when they cannot be computed.
    density_per_cm2 : float or None
        Interior dots per cm² of the interior's observed area.
    cluster_share : float or None
        Share of interior dots in over-dense clusters, 0–1.
    n_tiles : int
        Tiles that entered the tile statistics.
    n_dots : int
        Dots whose centre lies in the interior.
    interior_area_cm2 : float
        The interior's observed area (the frame margin left out).
    tile_mm : float
        Tile side actually used (``tile_mm`` rounded to whole grid cells).
    reason : str or None
        Why some metrics are None; None when all were computed.
    """

    tile_vmr: float | None
    coverage_cv: float | None
    empty_circle_ratio: float | None
    clark_evans_r: float | None
    density_per_cm2: float | None
    cluster_share: float | None
    n_tiles: int
    n_dots: int
    interior_area_cm2: float
    tile_mm: float
    reason: str | None = None

    def metrics(self) -> dict:
        """Metric name -> value (float or None), for the names in :data:`METRIC_NAMES`."""
        return {name: getattr(self, name) for name in METRIC_NAMES}

    def to_dict(self) -> dict:
        """JSON-safe dictionary of every field."""
        return asdict(self)


def measure_uniformity(x, y, diameter_px, grid: Grid, interior, *, tile_mm=5.0) -> Uniformity:
    """Measure how evenly the dots cover the interior.

    Parameters
    ----------
    x, y : array_like
        Dot centres, px (x = column, pixel centres at integers). Dots outside
        the grid's observed area (the photo less its frame margin) or with
        non-finite positions are ignored.
    diameter_px : array_like
        Dot diameters, px (non-finite counts as 0 for the coverage).
    grid : Grid
    interior : (rows, columns) bool array
        The interior on ``grid``.
    tile_mm : float
        Side of the square tiles of ``tile_vmr`` and ``coverage_cv``.

    Returns
    -------
    Uniformity
        With every metric None and a ``reason`` when the interior holds fewer
        than :data:`MIN_TILES` full tiles or fewer than :data:`MIN_DOTS` dots.

    Raises
    ------
    ValueError
        For inputs of mismatched lengths, a mask of the wrong shape or a
        non-positive ``tile_mm``.
    """
    x, y, d, interior = _validated(x, y, diameter_px, grid, interior, tile_mm)
    k = max(1, round(tile_mm / grid.cell_mm))
    with np.errstate(invalid="ignore"):
        seen = grid.edge_distance(x, y) >= 0
    x, y, d = x[seen], y[seen], d[seen]
    ci, cj = grid.cell_of(x, y)
    inside = interior[ci, cj]
    weight = interior * grid.observed()
    area_cm2 = float(weight.sum() * grid.cell_area_mm2 / 100.0)
    counts, cover, n_tiles = _tiles(grid, interior, weight, ci[inside], cj[inside],
                                    d[inside], k)
    base = dict(n_tiles=n_tiles, n_dots=int(inside.sum()), interior_area_cm2=area_cm2,
                tile_mm=k * grid.cell_mm)
    why = _too_small(area_cm2, n_tiles, base["n_dots"], k * grid.cell_mm)
    if why:
        return Uniformity(None, None, None, None, None, None, **base, reason=why)
    vmr, cv = _tile_stats(counts, cover)
    tree = cKDTree(np.column_stack([x, y]))
    nn = nearest_other(x, y)[inside]  # the tree's k=2 answer, without its cost
    area_px2 = area_cm2 * 100.0 * grid.px_per_mm**2
    lam = base["n_dots"] / area_px2  # dots per px²
    radius = _largest_empty_radius(grid, interior, tree, ci, cj)
    med = float(np.median(nn))
    values = dict(
        tile_vmr=vmr,
        coverage_cv=cv,
        empty_circle_ratio=2.0 * radius / med if med > 0 else None,
        clark_evans_r=_clark_evans(grid, interior, ci[inside], cj[inside], nn, lam),
        density_per_cm2=base["n_dots"] / area_cm2,
        cluster_share=_cluster_share(grid, ci, cj, inside, lam),
    )
    values = {name: finite_or_none(v) for name, v in values.items()}
    why = [_WHY_NONE[name] for name, v in values.items() if v is None]
    return Uniformity(**values, **base, reason="; ".join(why) if why else None)


# --- input --------------------------------------------------------------------------------------

def _validated(x, y, diameter_px, grid, interior, tile_mm):
    x = np.asarray(x, float).ravel()
    y = np.asarray(y, float).ravel()
    d = np.nan_to_num(np.asarray(diameter_px, float).ravel(), nan=0.0, posinf=0.0)
    if not (x.size == y.size == d.size):
        raise ValueError(f"x, y and diameter_px differ in length: {x.size}, {y.size}, {d.size}")
    interior = grid.cell_mask(interior, "interior")
    if not (math.isfinite(tile_mm) and tile_mm > 0):
        raise ValueError(f"tile_mm must be a positive number, got {tile_mm!r}")
    return x, y, d, interior


def _too_small(area_cm2, n_tiles, n_dots, tile_mm):
    if area_cm2 <= 0:
        return "the interior is empty, so there is no uniformity to judge"
    if n_dots < MIN_DOTS:
        return (f"the interior holds {n_dots} dots, too few to judge uniformity "
                f"(at least {MIN_DOTS} are needed)")
    if n_tiles < MIN_TILES:
        return (f"the interior holds {n_tiles} full {tile_mm:g} mm tiles, too few to judge "
                f"uniformity (at least {MIN_TILES} are needed)")
    return None


# --- tiles --------------------------------------------------------------------------------------

def _tiles(grid, interior, weight, ci, cj, d, k):
    """Per full tile: interior dot counts and pigmented share of the interior area.

    Tiles are laid from the corner of the bounding box of the observed interior.
    """
    if not (weight > 0).any():
        return np.empty(0), np.empty(0), 0
    r0 = int(np.argmax((weight > 0).any(axis=1)))
    c0 = int(np.argmax((weight > 0).any(axis=0)))
    w = weight[r0:, c0:]
    nr, nc = -(-w.shape[0] // k), -(-w.shape[1] // k)
    padded = np.zeros((nr * k, nc * k))
    padded[:w.shape[0], :w.shape[1]] = w
    fill = padded.reshape(nr, k, nc, k).sum(axis=(1, 3)).ravel()  # interior cells per tile
    tile = ((ci - r0) // k) * nc + (cj - c0) // k
    counts = np.bincount(tile, minlength=nr * nc)
    ink = np.bincount(tile, math.pi * (d / 2) ** 2, minlength=nr * nc)
    full = fill >= MIN_TILE_FILL * k * k
    return counts[full], ink[full] / (fill[full] * grid.cell_px**2), int(full.sum())


def _tile_stats(counts, cover):
    mean_n, mean_c = counts.mean(), cover.mean()
    vmr = counts.var(ddof=1) / mean_n if mean_n > 0 else None
    cv = cover.std(ddof=1) / mean_c if mean_c > 0 else None
    return finite_or_none(vmr), finite_or_none(cv)


# --- nearest neighbours -------------------------------------------------------------------------

def _block_edge_distance(grid: Grid, interior):
    """Lower bound (px) on the distance to the interior's edge or the observed area's, per block.

    Blocks are 2 x 2 cells (inside only when all four cells are), which makes the distance
    transform four times cheaper; the bound is about a block looser than it could be.
    """
    h, w = interior.shape
    hb, wb = -(-h // 2), -(-w // 2)
    full = np.zeros((2 * hb, 2 * wb), bool)
    full[:h, :w] = interior
    inside = np.pad(full.reshape(hb, 2, wb, 2).all(axis=(1, 3)), 1)
    size = 2 * grid.cell_px
    # A point lies within half a block diagonal of its block's centre, and the edge within
    # half a diagonal of the nearest outside block's centre.
    edge = (distance_transform(inside)[1:-1, 1:-1] - math.sqrt(2)) * size
    cx, cy = (np.arange(wb) + 0.5) * size - 0.5, (np.arange(hb) + 0.5) * size - 0.5
    border = grid.edge_distance(cx[None, :], cy[:, None]) - size / math.sqrt(2)
    return np.minimum(edge, border)


def _clark_evans(grid, interior, ci, cj, nn, lam):
    """Clark-Evans R by the border method with Hanisch's weights.

    A dot nearer the edge than its neighbour may have a closer, unseen one, so only dots
    farther from the edge than their neighbour count. That alone favours short distances
    (long ones are dropped more often); weighting each kept dot by 1 / the area of the
    interior farther than its distance from the edge removes the bias.
    """
    edge = _block_edge_distance(grid, interior)
    keep = nn < edge[ci // 2, cj // 2]
    if not keep.any():
        return None
    d = nn[keep]
    far = np.sort(edge[edge > 0], axis=None)
    weight = 1.0 / (far.size - np.searchsorted(far, d, side="right"))  # blocks beyond d
    mean_nn = float(np.sum(weight * d) / np.sum(weight))
    return finite_or_none(mean_nn / (0.5 / math.sqrt(lam)))


def _cluster_share(grid: Grid, ci, cj, inside, lam):
    """Share of interior dots whose neighbourhood holds > CLUSTER_FACTOR x the median count."""
    radius_cells = CLUSTER_RADIUS_SPACINGS / math.sqrt(lam) / grid.cell_px
    # A square of the disc's area, in whole cells: a box filter costs far less than a
    # neighbour search per dot.
    side = max(1, 2 * round(math.sqrt(math.pi) * radius_cells / 2) + 1)
    flat = np.ravel_multi_index((ci, cj), grid.shape)
    count = np.bincount(flat, minlength=grid.shape[0] * grid.shape[1]).astype(np.float32)
    count = count.reshape(grid.shape)
    local = ndimage.uniform_filter(count, side, mode="constant") * side**2
    n = np.rint(local[ci[inside], cj[inside]])
    return float(np.mean(n > CLUSTER_FACTOR * np.median(n)))


# --- largest empty circle -----------------------------------------------------------------------

def _radius_at(grid: Grid, tree, px, py, edge_px):
    """Radius (px) of the largest dot-free circle inside the observed area and the interior.

    ``edge_px`` is, per cell, the distance from its centre to the nearest cell outside the
    interior; the sparse hairline band and bare margins beyond it must not count as gaps.
    """
    d = tree.query(np.column_stack([px, py]))[0]
    i, j = grid.cell_of(px, py)
    d = np.minimum(d, edge_px[i, j])
    return np.maximum(np.minimum(d, grid.edge_distance(px, py)), 0.0)


def _cell_centres(grid: Grid, flat):
    i, j = np.divmod(flat, grid.shape[1])
    return (j + 0.5) * grid.cell_px - 0.5, (i + 0.5) * grid.cell_px - 0.5


def _subsample(grid: Grid, flat):
    """3 x 3 points in each given cell; every point of a cell lies within 0.24 cell of one."""
    cx, cy = _cell_centres(grid, flat)
    off = _SUBSAMPLES * grid.cell_px
    px = cx[:, None, None] + off[None, None, :]
    py = cy[:, None, None] + off[None, :, None]
    px, py = np.broadcast_arrays(px, py)
    return px.ravel(), py.ravel()


def _polish(grid: Grid, interior, tree, px, py, r, best, edge_px):
    """Try the circumcentres of the three dots nearest to the best sample points.

    The largest empty circle is (away from edges) centred on a Voronoi vertex: the centre of
    the circle through its three nearest dots. This removes the sampling error.
    """
    top = _largest(r, _POLISH)
    top = top[r[top] > best - grid.cell_px]
    if top.size == 0 or tree.n < 3:
        return best
    near = tree.data[tree.query(np.column_stack([px[top], py[top]]), k=3)[1]]
    a, b, c = near[:, 0], near[:, 1], near[:, 2]
    bx, by, cx, cy = b[:, 0] - a[:, 0], b[:, 1] - a[:, 1], c[:, 0] - a[:, 0], c[:, 1] - a[:, 1]
    den = 2 * (bx * cy - by * cx)
    ok = np.abs(den) > 1e-9
    b2, c2 = bx**2 + by**2, cx**2 + cy**2
    ux = a[ok, 0] + (cy * b2 - by * c2)[ok] / den[ok]
    uy = a[ok, 1] + (bx * c2 - cx * b2)[ok] / den[ok]
    ok = grid.edge_distance(ux, uy) >= 0
    ux, uy = ux[ok], uy[ok]
    ok = interior[grid.cell_of(ux, uy)]
    if not ok.any():
        return best
    return max(best, float(_radius_at(grid, tree, ux[ok], uy[ok], edge_px).max()))


def _largest(values, n):
    """Indices of the ``n`` largest values (all when there are fewer), in no order."""
    if values.size <= n:
        return np.arange(values.size)
    return np.argpartition(values, values.size - n)[values.size - n:]


def _largest_empty_radius(grid: Grid, interior, tree, ci, cj):
    """Radius (px) of the largest dot-free circle centred in the interior, in the observed area."""
    occupied = np.zeros(grid.shape, bool)
    occupied[ci, cj] = True
    # Outside the interior is a wall, measured from the cell's centre to the wall cell's edge.
    edge_px = (distance_transform(np.pad(interior, 1, constant_values=True))[1:-1, 1:-1]
               - 0.5) * grid.cell_px
    # The padding ring stands for the photo's border: circles may not cross it.
    walls = occupied | ~np.asarray(interior, bool)
    cells = distance_transform(~np.pad(walls, 1, constant_values=True))[1:-1, 1:-1]
    cells = np.where(interior, cells, -np.inf).ravel()
    # The cells nearest the grid's maximum give a near-best true radius to prune with.
    seed = np.flatnonzero(cells >= cells.max() - 0.5)[:_EMPTY_SEED]
    best = float(_radius_at(grid, tree, *_cell_centres(grid, seed), edge_px).max())
    # The grid distance errs by up to half a cell diagonal (a dot anywhere in its cell) and a
    # point of the cell lies another half diagonal from its centre: a bound per cell.
    cand = np.flatnonzero((cells + math.sqrt(2)) * grid.cell_px > best)
    cand = cand[_largest(cells[cand], _EMPTY_MAX)]
    r0 = _radius_at(grid, tree, *_cell_centres(grid, cand), edge_px)
    best = max(best, float(r0.max()))
    upper = r0 + grid.cell_px / math.sqrt(2)  # exact at the centre, plus half a diagonal
    cand = cand[upper > best]
    if cand.size == 0:
        return best
    px, py = _subsample(grid, cand[_largest(upper[upper > best], _EMPTY_MAX)])
    r = _radius_at(grid, tree, px, py, edge_px)
    best = max(best, float(r.max()))
    return _polish(grid, interior, tree, px, py, r, best, edge_px)
