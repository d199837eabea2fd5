"""Render a :class:`~smpqa.synth.scene.Scene` into an RGB photo with exact ground truth.

The model follows a tattoo, not paint: in linear RGB every layer (freckles,
pores, pigment dots, stubble hairs) is alpha-composited over the skin, then
the light falls on it (illumination gradient, vignette, glare), the lens blurs
it, and the camera encodes sRGB, adds sensor noise and compresses to JPEG.
Every random choice draws from its own stream of the scene's seed, so the same
seed always gives the same photo, and changing the clutter never moves a dot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy import ndimage
from scipy.optimize import nnls
from scipy.special import ndtr
from skimage.color import deltaE_ciede2000
from skimage.measure import points_in_poly

from ..color import lab_to_linear, linear_to_lab, linear_to_srgb
from ._kernels import composite, new_transmittance, stamp_capsules
from .scene import Scene

__all__ = ["render", "SynthPhoto", "DOT_KINDS"]

#: Kinds of dots in the truth table.
DOT_KINDS = ("normal", "blowout", "merged", "cluster")
_STREAMS = ("lattice", "keep", "size", "opacity", "kinds", "twins", "clusters", "patch",
            "wiggle", "pores", "hairs", "freckles", "glare", "light", "texture", "noise")
_PATCH_CAP = 2.5  # densest patch, x the nominal density
_FWHM_10_90 = 2.0 * 1.2815515655446004  # 10-90 % width of a Gaussian CDF, in sigmas
_DOT_RAMP_PX = 1.0  # width of a dot's linear edge ramp (area anti-aliasing), px
_SRGB_LUT_SIZE = 16384
_SRGB_LUT = (linear_to_srgb(np.linspace(0, 1, _SRGB_LUT_SIZE)) * 255.0).astype(np.float32)
_PAPER_WHITE_LAB = (95.0, 0.0, 0.0)
_PAPER_BLACK_LAB = (10.0, 0.0, 0.0)
_MARKER_INSET_PX = 2.0  # px of frame a print kept in view leaves beyond its edge
_CAMERA_DISTANCE_MM = 150.0  # sets the keystone of a tilted marker (a phone held 15 cm away)
_MARKER_SUPERSAMPLE = 4  # sub-pixels per pixel side when the print is drawn


@dataclass(frozen=True)
class SynthPhoto:
    """A simulated photo and its truth.

    Attributes
    ----------
    image : numpy.ndarray
        RGB uint8, (H, W, 3).
    dots : dict of numpy.ndarray
        One entry per pigment disc: ``x``, ``y`` (px, pixel centres at
        integers), ``diameter_px``, ``kind`` (one of :data:`DOT_KINDS`) and
        ``opacity``.
    truth : dict
        The scene's true metric values (JSON-safe).
    scene : Scene
    """

    image: np.ndarray
    dots: dict
    truth: dict
    scene: Scene = field(repr=False)

    def write(self, path):
        """Write the photo (PNG with its scale) and truth files; see :func:`smpqa.synth.write`."""
        from .files import write

        return write(self, path)


def _rngs(seed: int) -> dict:
    children = np.random.SeedSequence(int(seed)).spawn(len(_STREAMS))
    return {name: np.random.default_rng(s) for name, s in zip(_STREAMS, children)}


def _smooth_field(rng, shape, sigma_cells):
    """Gaussian random field with zero mean and unit standard deviation.

    The field is drawn on a grid of at least 8 correlation lengths per side and
    cropped, so that a small frame still sees a field of the right statistics.
    """
    shape = tuple(np.atleast_1d(shape))
    full = tuple(max(n, int(8 * sigma_cells) + 1) for n in shape)
    f = ndimage.gaussian_filter(rng.standard_normal(full), sigma_cells, mode="wrap")
    f = (f - f.mean()) / f.std()
    return f[tuple(slice(0, n) for n in shape)]


# --- where the work is --------------------------------------------------------------------------

class _Layout:
    """Maps scalp positions (mm) to the density multiplier of patchiness and hairline."""

    def __init__(self, scene: Scene, rng):
        self.s = scene
        hl = scene.hairline
        w, h = scene.width_mm, scene.height_mm
        if hl.side in ("top", "bottom"):
            self.length, self.across = w, h
        else:
            self.length, self.across = h, w
        self._cell = 0.25
        n = int(math.ceil(self.length / self._cell)) + 2
        self._wiggle = hl.irregularity_mm * _smooth_field(
            rng["wiggle"], n, hl.wiggle_scale_mm / self._cell)
        pc = 0.5
        shape = (int(math.ceil(h / pc)) + 2, int(math.ceil(w / pc)) + 2)
        self._pcell = pc
        if scene.patchiness > 0:
            g = _smooth_field(rng["patch"], shape, scene.patch_scale_mm / pc)
            # Capped at 2.5x: denser still and the dots would pile up on each other,
            # which is a different defect (merging) from uneven density.
            self._patch = np.minimum(np.exp(scene.patchiness * g - scene.patchiness**2 / 2),
                                     _PATCH_CAP)
        else:
            self._patch = np.ones(shape)
        self.patch_max = float(self._patch.max())

    def uv(self, x_mm, y_mm):
        """Coordinates along (u) and across (v, growing into the work) the edge."""
        side = self.s.hairline.side
        if side in ("top", "none"):
            return x_mm, y_mm
        if side == "bottom":
            return x_mm, self.s.height_mm - y_mm
        if side == "left":
            return y_mm, x_mm
        return y_mm, self.s.width_mm - x_mm

    def xy(self, u, v):
        side = self.s.hairline.side
        if side in ("top", "none"):
            return u, v
        if side == "bottom":
            return u, self.s.height_mm - v
        if side == "left":
            return v, u
        return self.s.width_mm - v, u

    def edge_smooth(self, u):
        """The 50 % line's course without its random wiggle (mm across)."""
        hl = self.s.hairline
        uc = self.length / 2
        t = (u - uc)
        return (hl.position * self.across + math.tan(math.radians(hl.tilt_deg)) * t
                + hl.curvature_mm * (t / (self.length / 2)) ** 2
                + hl.asymmetry_mm / 2 * np.clip(t / (0.4 * self.length), -1, 1))

    def edge(self, u):
        idx = np.clip(np.asarray(u) / self._cell, 0, self._wiggle.size - 1)
        return self.edge_smooth(u) + np.interp(idx, np.arange(self._wiggle.size), self._wiggle)

    def hairline_factor(self, x_mm, y_mm):
        hl = self.s.hairline
        if hl.side == "none":
            return np.ones(np.shape(x_mm))
        u, v = self.uv(np.asarray(x_mm), np.asarray(y_mm))
        d = (v - self.edge(u)) * math.cos(math.radians(hl.tilt_deg))
        if hl.width_mm == 0:
            return (d > 0).astype(float)
        return ndtr(d / (hl.width_mm / _FWHM_10_90))

    def patch_factor(self, x_mm, y_mm):
        coords = np.stack([np.asarray(y_mm) / self._pcell, np.asarray(x_mm) / self._pcell])
        return ndimage.map_coordinates(self._patch, coords, order=1, mode="nearest")


# --- dots ---------------------------------------------------------------------------------------

def _lattice(rng, w_mm, h_mm, density_per_mm2, jitter):
    """A randomly rotated, jittered hexagonal lattice covering the frame (mm)."""
    s = math.sqrt(1.0 / (density_per_mm2 * math.sqrt(3) / 2))
    if s > 10 * math.hypot(w_mm, h_mm):  # a density so low that no dot falls in the frame
        return np.empty(0), np.empty(0)
    half = 0.5 * math.hypot(w_mm, h_mm) + 2 * s
    rows = np.arange(-half, half, s * math.sqrt(3) / 2)
    cols = np.arange(-half, half, s)
    gx, gy = np.meshgrid(cols, rows)
    gx = gx + (np.arange(rows.size)[:, None] % 2) * s / 2
    th = rng.uniform(0, math.pi)
    c, sn = math.cos(th), math.sin(th)
    x = c * gx.ravel() - sn * gy.ravel() + w_mm / 2 + rng.uniform(-s, s)
    y = sn * gx.ravel() + c * gy.ravel() + h_mm / 2 + rng.uniform(-s, s)
    x = x + rng.normal(0, jitter * s, x.size)
    y = y + rng.normal(0, jitter * s, y.size)
    ok = (x >= 0) & (x <= w_mm) & (y >= 0) & (y <= h_mm)
    return x[ok], y[ok]


def _place_dots(scene: Scene, lay: _Layout, rng):
    w, h = scene.width_mm, scene.height_mm
    if scene.density_per_cm2 <= 0:
        return np.empty(0), np.empty(0), np.empty(0, dtype=object)
    x, y = _lattice(rng["lattice"], w, h, scene.density_per_cm2 / 100 * lay.patch_max,
                    scene.jitter)
    keep = lay.hairline_factor(x, y) * lay.patch_factor(x, y) / lay.patch_max
    ok = rng["keep"].random(x.size) < keep
    x, y = x[ok], y[ok]
    kind = np.full(x.size, "normal", dtype=object)
    # Over-worked clusters: extra dots packed densely inside small discs.
    cr = rng["clusters"]
    cx_list, cy_list = [], []
    for _ in range(scene.clusters):
        for _try in range(50):
            cx, cy = cr.uniform(0, w), cr.uniform(0, h)
            if lay.hairline_factor(cx, cy) > 0.9:
                break
        n = cr.poisson(scene.cluster_density_factor * scene.density_per_cm2 / 100
                       * math.pi * scene.cluster_radius_mm**2)
        rr = scene.cluster_radius_mm * np.sqrt(cr.random(n))
        th = cr.uniform(0, 2 * math.pi, n)
        cx_list.append(cx + rr * np.cos(th))
        cy_list.append(cy + rr * np.sin(th))
    if cx_list:
        ex, ey = np.concatenate(cx_list), np.concatenate(cy_list)
        inside = (ex >= 0) & (ex <= w) & (ey >= 0) & (ey <= h)
        x = np.concatenate([x, ex[inside]])
        y = np.concatenate([y, ey[inside]])
        kind = np.concatenate([kind, np.full(int(inside.sum()), "cluster", dtype=object)])
    return x, y, kind


def _dot_table(scene: Scene, lay: _Layout, rng) -> dict:
    x, y, kind = _place_dots(scene, lay, rng)
    n = x.size
    d = scene.dot_diameter_mm * np.exp(scene.dot_diameter_spread * rng["size"].standard_normal(n))
    a = np.clip(rng["opacity"].normal(scene.opacity, scene.opacity_spread, n), 0.02, 1.0)
    is_cluster = kind == "cluster"
    d[is_cluster] *= 1.4
    a[is_cluster] = np.minimum(1.0, a[is_cluster] + 0.15)
    # Merged twins: a partner overlapping a normal dot; both count as dots of kind "merged".
    f = scene.merged_fraction
    normal = np.flatnonzero(kind == "normal")
    n_pairs = min(int(round(f * n / (2 - f))) if f < 2 else 0, normal.size)
    tw = rng["twins"]
    base = tw.choice(normal, n_pairs, replace=False) if n_pairs else np.empty(0, int)
    th = tw.uniform(0, 2 * math.pi, n_pairs)
    sep = d[base] * tw.uniform(0.6, 0.9, n_pairs)
    tx = x[base] + sep * np.cos(th)
    ty = y[base] + sep * np.sin(th)
    inside = (tx >= 0) & (tx <= scene.width_mm) & (ty >= 0) & (ty <= scene.height_mm)
    base, tx, ty = base[inside], tx[inside], ty[inside]
    kind[base] = "merged"
    x = np.concatenate([x, tx])
    y = np.concatenate([y, ty])
    d = np.concatenate([d, d[base]])
    a = np.concatenate([a, a[base]])
    kind = np.concatenate([kind, np.full(tx.size, "merged", dtype=object)])
    # Blow-out: a share of the remaining normal dots get an ink-migration halo.
    normal = np.flatnonzero(kind == "normal")
    nb = int(round(scene.blowout_fraction * kind.size))
    nb = min(nb, normal.size)
    if nb:
        kind[rng["kinds"].choice(normal, nb, replace=False)] = "blowout"
    ppm = scene.px_per_mm
    # Pixel centres sit at integers: the scalp point at x mm lies at x*ppm - 0.5 px.
    return {
        "x": x * ppm - 0.5,
        "y": y * ppm - 0.5,
        "diameter_px": d * ppm,
        "kind": kind.astype(str),
        "opacity": a,
    }


# --- clutter ------------------------------------------------------------------------------------

def _poisson_points(rng, scene: Scene, density_per_cm2):
    n = rng.poisson(density_per_cm2 * scene.width_mm * scene.height_mm / 100)
    return rng.uniform(0, scene.width_px, n) - 0.5, rng.uniform(0, scene.height_px, n) - 0.5


def _stamp(T, x0, y0, x1=None, y1=None, *, radius, soft, alpha, halo_amp=None, halo_width=None):
    n = np.size(x0)

    def vec(v):
        return np.ascontiguousarray(np.broadcast_to(np.asarray(v, np.float64), (n,)))

    stamp_capsules(T, vec(x0), vec(y0), vec(x0 if x1 is None else x1),
                   vec(y0 if y1 is None else y1), vec(radius), vec(soft), vec(alpha),
                   vec(0.0 if halo_amp is None else halo_amp),
                   vec(1.0 if halo_width is None else halo_width))
    return T


def _shifted(lab, dL=0.0, da=0.0, db=0.0):
    L, a, b = lab
    return np.array([max(L + dL, 1.0), a + da, b + db])


def _layer_skin(scene, rng, img):
    cl = scene.clutter
    H, W = img.shape[:2]
    if cl.skin_texture > 0:
        cells = (max(H // 8, 2), max(W // 8, 2))
        tex = 1 + cl.skin_texture * _smooth_field(rng["texture"], cells, 0.6 * scene.px_per_mm / 8)
        img *= cv2.resize(tex.astype(np.float32), (W, H), interpolation=cv2.INTER_LINEAR)[..., None]
    skin = scene.skin_lab
    ppm = scene.px_per_mm
    # Freckles: large, soft, brownish.
    fx, fy = _poisson_points(rng["freckles"], scene, cl.freckle_density_per_cm2)
    if fx.size:
        r = rng["freckles"].uniform(0.5, 1.5, fx.size) * ppm
        T = _stamp(new_transmittance(H, W), fx, fy, radius=r, soft=0.4 * r, alpha=0.35)
        composite(img, T, lab_to_linear(_shifted(skin, -15, 8, 15)).astype(np.float32))
    # Pores: small and faint.
    px, py = _poisson_points(rng["pores"], scene, cl.pore_density_per_cm2)
    if px.size:
        r = cl.pore_diameter_mm / 2 * ppm * rng["pores"].uniform(0.7, 1.3, px.size)
        T = _stamp(new_transmittance(H, W), px, py, radius=r, soft=1.5, alpha=cl.pore_opacity)
        composite(img, T, lab_to_linear(_shifted(skin, -25)).astype(np.float32))


def _layer_hairs(scene, lay, rng, img):
    cl = scene.clutter
    if cl.hair_density_per_cm2 <= 0:
        return np.empty((0, 4))
    hr = rng["hairs"]
    hx, hy = _poisson_points(hr, scene, cl.hair_density_per_cm2)
    ppm = scene.px_per_mm
    keep = lay.hairline_factor((hx + 0.5) / ppm, (hy + 0.5) / ppm) > hr.random(hx.size)
    hx, hy = hx[keep], hy[keep]
    th = hr.uniform(0, 2 * math.pi) + hr.normal(0, 0.35, hx.size)
    ln = cl.hair_length_mm * ppm * hr.uniform(0.6, 1.4, hx.size)
    x1, y1 = hx + ln * np.cos(th), hy + ln * np.sin(th)
    H, W = img.shape[:2]
    T = _stamp(new_transmittance(H, W), hx, hy, x1, y1, radius=cl.hair_width_mm * ppm / 2,
               soft=1.0, alpha=cl.hair_opacity)
    composite(img, T, lab_to_linear(cl.hair_lab).astype(np.float32))
    return np.stack([hx, hy, x1, y1], axis=1)


def _layer_light(scene, rng, img):
    cl = scene.clutter
    H, W = img.shape[:2]
    lr = rng["light"]
    yy = (np.arange(H, dtype=np.float32) / max(H - 1, 1) - 0.5)[:, None]
    xx = (np.arange(W, dtype=np.float32) / max(W - 1, 1) - 0.5)[None, :]
    th = lr.uniform(0, 2 * math.pi)
    light = 1 + cl.illumination_gradient * (math.cos(th) * xx + math.sin(th) * yy)
    light = light * (1 - cl.vignette * (xx**2 + yy**2) / 0.5)
    img *= light[..., None].astype(np.float32)
    gr = rng["glare"]
    if cl.glare_spots:
        G = new_transmittance(H, W)
        gx, gy = gr.uniform(0, W, cl.glare_spots), gr.uniform(0, H, cl.glare_spots)
        r = gr.uniform(0.5, 2.0, cl.glare_spots) * scene.px_per_mm
        _stamp(G, gx, gy, radius=r, soft=r, alpha=cl.glare_strength)
        composite(img, G, np.ones(3, np.float32))


def _camera(scene, rng, img):
    cl = scene.clutter
    if cl.blur_px > 0:
        img = cv2.GaussianBlur(img, (0, 0), cl.blur_px)
    idx = (np.clip(img, 0, 1) * (_SRGB_LUT_SIZE - 1) + 0.5).astype(np.int32)
    out = _SRGB_LUT[idx]
    if cl.noise > 0:
        out += rng["noise"].standard_normal(out.shape, dtype=np.float32) * np.float32(cl.noise)
    out = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    if cl.jpeg_quality is not None:
        ok, buf = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, cl.jpeg_quality])
        out = np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])
    return out


# --- printed marker -----------------------------------------------------------------------------

@dataclass(frozen=True)
class _MarkerGeometry:
    """Where a printed marker lands in the photo (px, pixel centres at integers)."""

    corners_px: np.ndarray  # black square, cv2.aruco order: marker's TL, TR, BR, BL
    paper_px: np.ndarray  # the print with its one-module white margin, same order
    modules: int  # modules across the black square (data bits + 2 border bits)


def _project(scene: Scene, uv_mm) -> np.ndarray:
    """Pixel offsets from the print's centre of points (u right, v down; mm from it) on it."""
    mk = scene.marker
    t, r = math.radians(mk.tilt_deg), math.radians(mk.rotation_deg)
    u, v = uv_mm[:, 0], uv_mm[:, 1]
    # Pinhole camera over a print tilted about its u axis: foreshortening plus keystone.
    z = _CAMERA_DISTANCE_MM + v * math.sin(t)
    x, y = _CAMERA_DISTANCE_MM * u / z, _CAMERA_DISTANCE_MM * v * math.cos(t) / z
    xr, yr = math.cos(r) * x - math.sin(r) * y, math.sin(r) * x + math.cos(r) * y
    return np.stack([xr * scene.px_per_mm, yr * scene.px_per_mm], axis=1)


def _print_centre(scene: Scene, paper) -> np.ndarray:
    """Where the print's centre lands (px): ``centre``, moved into the frame if need be.

    On each axis along which the print (``paper``: its corners' offsets from the centre)
    fits inside the frame with ``_MARKER_INSET_PX`` to spare, the centre is moved inward
    just enough for it to; along an axis where it cannot fit, it stays.
    """
    mk = scene.marker
    centre = np.array([mk.centre[0] * scene.width_px - 0.5, mk.centre[1] * scene.height_px - 0.5])
    for k, size in enumerate((scene.width_px, scene.height_px)):
        lo, hi = centre[k] + paper[:, k].min(), centre[k] + paper[:, k].max()
        first, last = _MARKER_INSET_PX, size - 1 - _MARKER_INSET_PX
        if hi - lo <= last - first:
            centre[k] += max(first - lo, 0.0) - max(hi - last, 0.0)
    return centre


def _marker_geometry(scene: Scene) -> _MarkerGeometry:
    mk = scene.marker
    n = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, mk.dictionary)).markerSize + 2
    square = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float)
    half = mk.side_mm / 2
    paper = _project(scene, square * half * (n + 2) / n)
    centre = _print_centre(scene, paper)
    return _MarkerGeometry(centre + _project(scene, square * half), centre + paper, n)


def _hide_under_paper(dots: dict, geo: _MarkerGeometry) -> dict:
    """Drop the dots whose centre the print covers: they are not in the photo."""
    if dots["x"].size == 0:
        return dots
    under = points_in_poly(np.stack([dots["x"], dots["y"]], axis=1), geo.paper_px)
    return {k: v[~under] for k, v in dots.items()}


def _layer_marker(scene: Scene, geo: _MarkerGeometry, img) -> None:
    """Composite the opaque print over the skin, antialiased by supersampling."""
    H, W = img.shape[:2]
    lo = np.floor(geo.paper_px.min(axis=0)).astype(int) - 2
    hi = np.ceil(geo.paper_px.max(axis=0)).astype(int) + 3
    x0, y0 = max(lo[0], 0), max(lo[1], 0)
    x1, y1 = min(hi[0], W), min(hi[1], H)
    if x1 <= x0 or y1 <= y0:
        return
    s = _MARKER_SUPERSAMPLE
    mk = scene.marker
    m = max(4, math.ceil(mk.side_mm * scene.px_per_mm * s / geo.modules))  # canvas px / module
    code = cv2.aruco.generateImageMarker(
        cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, mk.dictionary)), mk.id,
        geo.modules * m, borderBits=1)
    canvas = cv2.copyMakeBorder(code, m, m, m, m, cv2.BORDER_CONSTANT, value=255)
    canvas = (canvas > 127).astype(np.float32)
    N = canvas.shape[0]
    src = np.array([[-0.5, -0.5], [N - 0.5, -0.5], [N - 0.5, N - 0.5], [-0.5, N - 0.5]],
                   np.float32)
    # Sub-pixel k of photo pixel x0 + k // s has its centre at x0 - 0.5 + (k + 0.5) / s.
    dst = ((geo.paper_px - [x0, y0] + 0.5) * s - 0.5).astype(np.float32)
    M = cv2.getPerspectiveTransform(src, dst)
    size = ((x1 - x0) * s, (y1 - y0) * s)
    white = cv2.warpPerspective(canvas, M, size, flags=cv2.INTER_LINEAR)
    cover = cv2.warpPerspective(np.ones_like(canvas), M, size, flags=cv2.INTER_LINEAR)
    # Averaging the sub-pixels in linear light gives each pixel its share of paper and of white.
    white = cv2.resize(white, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)[..., None]
    cover = cv2.resize(cover, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)[..., None]
    w_lin = lab_to_linear(_PAPER_WHITE_LAB).astype(np.float32)
    b_lin = lab_to_linear(_PAPER_BLACK_LAB).astype(np.float32)
    win = img[y0:y1, x0:x1]
    win[:] = win * (1 - cover) + (cover - white) * b_lin + white * w_lin


def _marker_truth(scene: Scene, geo: _MarkerGeometry) -> dict:
    c = geo.corners_px
    side_px = np.linalg.norm(np.roll(c, -1, axis=0) - c, axis=1).mean()
    mk = scene.marker
    return {"corners_px": np.round(c, 3).tolist(),
            "paper_corners_px": np.round(geo.paper_px, 3).tolist(),
            "px_per_mm_at_marker": float(side_px / mk.side_mm), "side_mm": mk.side_mm,
            "id": mk.id, "dictionary": mk.dictionary}


# --- truth --------------------------------------------------------------------------------------

def _core_depth(skin_lab, paint_lab, alpha):
    S, P = lab_to_linear(skin_lab), lab_to_linear(paint_lab)
    Ls = skin_lab[0]
    Lc = linear_to_lab(S * (1 - alpha) + P * alpha)[0]
    return float((Ls - Lc) / Ls)


def pigment_cast_delta_e(skin_lab, pigment_lab) -> float:
    """ΔE00 between a dot at the reference depth (L* = 0.6 L*skin) and its best neutral fit.

    The exact-model value of the colour-cast metric: the dot colour is skin
    darkened by pigment at the opacity that reaches the reference depth; the
    neutral fit is u·skin + v·(1, 1, 1) with u, v >= 0.
    """
    S, P = lab_to_linear(skin_lab), lab_to_linear(pigment_lab)
    target = 0.6 * skin_lab[0]
    lo, hi = 0.0, 1.0
    for _ in range(60):  # bisection on opacity; L* falls monotonically with it
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if linear_to_lab(S * (1 - mid) + P * mid)[0] > target else (lo, mid)
    C = S * (1 - lo) + P * lo
    coef, _ = nnls(np.stack([S, np.ones(3)], axis=1), C)
    fit = coef[0] * S + coef[1]
    return float(deltaE_ciede2000(linear_to_lab(C), linear_to_lab(fit)))


def _truth(scene: Scene, lay: _Layout, dots: dict, hairs: np.ndarray, geo=None) -> dict:
    ppm = scene.px_per_mm
    d_mm = dots["diameter_px"] / ppm
    n = d_mm.size
    med = float(np.median(d_mm)) if n else float("nan")
    # Interior: fully worked (hairline factor >= 0.9) and 1 mm clear of the frame.
    step = 0.25
    gx, gy = np.meshgrid(np.arange(1 + step / 2, scene.width_mm - 1, step),
                         np.arange(1 + step / 2, scene.height_mm - 1, step))
    worked = lay.hairline_factor(gx, gy) >= 0.9
    if geo is not None:  # the print hides its dots, so its area holds none either
        pts = np.stack([gx.ravel() * ppm - 0.5, gy.ravel() * ppm - 0.5], axis=1)
        worked &= ~points_in_poly(pts, geo.paper_px).reshape(gx.shape)
    area_cm2 = float(worked.sum()) * step * step / 100
    xm, ym = (dots["x"] + 0.5) / ppm, (dots["y"] + 0.5) / ppm
    inner = ((xm >= 1) & (xm <= scene.width_mm - 1) & (ym >= 1) & (ym <= scene.height_mm - 1)
             & (lay.hairline_factor(xm, ym) >= 0.9))
    kinds = {k: int((dots["kind"] == k).sum()) for k in DOT_KINDS}
    truth = {
        "n_dots": n,
        "dot_counts": kinds,
        "median_diameter_mm": med if n else None,
        "robust_cv_diameter": float(1.4826 * np.median(np.abs(d_mm - med)) / med) if n else None,
        "oversized_share": float(np.mean(d_mm > 2 * med)) if n else None,
        "density_per_cm2": float(inner.sum() / area_cm2) if area_cm2 > 0 else None,
        "interior_area_cm2": area_cm2,
        "depth": _core_depth(scene.skin_lab, scene.pigment_lab, scene.opacity),
        "stubble_depth": (_core_depth(scene.skin_lab, scene.clutter.hair_lab,
                                      scene.clutter.hair_opacity) if len(hairs) else None),
        "pigment_cast_delta_e": pigment_cast_delta_e(scene.skin_lab, scene.pigment_lab),
        "blowout_share": float((kinds["blowout"] + kinds["merged"]) / n) if n else None,
        "n_hairs": int(len(hairs)),
        "hairline": _hairline_truth(scene, lay),
    }
    if geo is not None:
        truth["marker"] = _marker_truth(scene, geo)
    return truth


def _hairline_truth(scene: Scene, lay: _Layout):
    hl = scene.hairline
    if hl.side == "none":
        return None
    u = np.arange(0, lay.length + 1e-9, 0.5)
    x_mm, y_mm = lay.xy(u, lay.edge(u))
    ppm = scene.px_per_mm
    uc, half = lay.length / 2, 0.4 * lay.length
    smooth = lay.edge_smooth(np.array([uc - half, uc + half]))
    return {
        "side": hl.side,
        "width_mm": hl.width_mm,
        "irregularity_mm": hl.irregularity_mm,
        "asymmetry_mm": float(smooth[1] - smooth[0]),
        "tilt_deg": hl.tilt_deg,
        "curve_px": np.round(np.stack([x_mm * ppm - 0.5, y_mm * ppm - 0.5], axis=1), 2).tolist(),
    }


# --- the whole photo ----------------------------------------------------------------------------

def render(scene: Scene) -> SynthPhoto:
    """Render a scene into a photo with its exact ground truth.

    Parameters
    ----------
    scene : Scene
        All parameters, in physical units; see :class:`smpqa.synth.Scene`.

    Returns
    -------
    SynthPhoto
        The RGB uint8 image, one truth row per pigment disc and the scene's
        true metric values.

    Examples
    --------
    >>> from smpqa import synth
    >>> photo = synth.render(synth.preset("good_light", width_px=200, height_px=150))
    >>> photo.image.shape
    (150, 200, 3)
    """
    rng = _rngs(scene.seed)
    lay = _Layout(scene, rng)
    dots = _dot_table(scene, lay, rng)
    geo = None if scene.marker is None else _marker_geometry(scene)
    if geo is not None:
        dots = _hide_under_paper(dots, geo)
    H, W = scene.height_px, scene.width_px
    img = np.empty((H, W, 3), np.float32)
    img[:] = lab_to_linear(scene.skin_lab).astype(np.float32)
    _layer_skin(scene, rng, img)
    r = dots["diameter_px"] / 2
    blown = dots["kind"] == "blowout"
    # A linear edge ramp of width w adds pi w^2 / 12 to a disc's area; drawn at this radius
    # the disc keeps the truth's area (2 r is its equal-area diameter), as pixel area
    # sampling of a sharp disc would.
    r_draw = np.sqrt(np.maximum(r**2 - _DOT_RAMP_PX**2 / 12, 0.25 * r**2))
    T = _stamp(new_transmittance(H, W), dots["x"], dots["y"], radius=r_draw, soft=_DOT_RAMP_PX,
               alpha=dots["opacity"], halo_amp=np.where(blown, scene.blowout_strength, 0.0),
               halo_width=np.maximum(scene.blowout_spread * r, 0.5))
    composite(img, T, lab_to_linear(scene.pigment_lab).astype(np.float32))
    hairs = _layer_hairs(scene, lay, rng, img)
    if geo is not None:  # paper on the skin: lit, blurred and encoded like the rest
        _layer_marker(scene, geo, img)
    _layer_light(scene, rng, img)
    image = _camera(scene, rng, img)
    return SynthPhoto(image=image, dots=dots, truth=_truth(scene, lay, dots, hairs, geo),
                      scene=scene)
