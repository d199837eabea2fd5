"""The simulator against its own truth: geometry, colour, density, hairline and each preset."""

import json
import math

import numpy as np
import pytest

from smpqa import synth
from smpqa.color import SRGB8_TO_LINEAR, lab_to_linear, linear_to_lab, linear_to_srgb
from smpqa.synth import _kernels

CLEAN = dict(blur_px=0.0, noise=0.0, jpeg_quality=None, illumination_gradient=0.0, vignette=0.0,
             skin_texture=0.0, pore_density_per_cm2=0.0, freckle_density_per_cm2=0.0)


def _clean(name, **kw):
    return synth.preset(name, clutter=dict(CLEAN), **kw)


def _isolated(dots, factor=2.5):
    x, y, d = dots["x"], dots["y"], dots["diameter_px"]
    dist = np.hypot(x[:, None] - x[None], y[:, None] - y[None])
    np.fill_diagonal(dist, np.inf)
    reach = factor * (d[:, None] + d[None]) / 2
    return np.flatnonzero((dist > reach).all(axis=1))


def test_same_seed_same_photo_and_different_seed_differs():
    a = synth.render(synth.preset("good_stubble", width_px=300, height_px=200, seed=4))
    b = synth.render(synth.preset("good_stubble", width_px=300, height_px=200, seed=4))
    c = synth.render(synth.preset("good_stubble", width_px=300, height_px=200, seed=5))
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.dots["x"], b.dots["x"])
    assert not np.array_equal(a.image, c.image)


def test_clutter_does_not_move_the_dots():
    a = synth.render(synth.preset("good_light", width_px=300, height_px=200, seed=2))
    b = synth.render(synth.preset("good_light", width_px=300, height_px=200, seed=2,
                                  clutter=dict(hair_density_per_cm2=50, glare_spots=3)))
    assert np.array_equal(a.dots["x"], b.dots["x"])


@pytest.mark.parametrize("scale", [12.0, 20.0, 35.0])
def test_isolated_dot_area_position_and_core_colour_match_truth(scale):
    scene = _clean("good_light", px_per_mm=scale, width_px=500, height_px=400,
                   dot_diameter_mm=0.45, density_per_cm2=30, opacity_spread=0.0,
                   hairline=dict(side="none"))
    photo = synth.render(scene)
    lin = SRGB8_TO_LINEAR[photo.image].mean(axis=2)
    skin = lab_to_linear(scene.skin_lab).mean()
    pig = lab_to_linear(scene.pigment_lab).mean()
    full = (skin - pig) * scene.opacity  # deficit of a fully covered pixel
    idx = _isolated(photo.dots)
    assert idx.size > 10
    errs_d, errs_xy, cores = [], [], []
    for i in idx:
        x, y, d = (photo.dots[k][i] for k in ("x", "y", "diameter_px"))
        h = int(d) + 3
        cx, cy = int(round(x)), int(round(y))
        if not (h <= cx < lin.shape[1] - h and h <= cy < lin.shape[0] - h):
            continue
        win = skin - lin[cy - h:cy + h + 1, cx - h:cx + h + 1]
        cov = np.clip(win / full, 0, None)
        area = cov.sum()
        errs_d.append(2 * math.sqrt(area / math.pi) / d - 1)
        yy, xx = np.mgrid[cy - h:cy + h + 1, cx - h:cx + h + 1]
        errs_xy.append(math.hypot((cov * xx).sum() / area - x, (cov * yy).sum() / area - y))
        cores.append(lin[cy, cx])
    assert np.median(np.abs(errs_d)) < 0.03
    assert np.percentile(errs_xy, 90) < 0.1
    # The core is skin*(1-a) + pigment*a in linear light, to within 8-bit rounding.
    expect = skin * (1 - scene.opacity) + pig * scene.opacity
    assert np.median(cores) == pytest.approx(expect, rel=0.03)


def test_small_dot_keeps_the_truth_area():
    # 3.6 px dots: an edge ramp drawn at the truth's radius adds pi / 12 px² (+1.3 % diameter).
    scene = _clean("good_light", px_per_mm=12.0, width_px=500, height_px=400,
                   dot_diameter_mm=0.30, density_per_cm2=30, opacity_spread=0.0,
                   hairline=dict(side="none"))
    photo = synth.render(scene)
    lin = SRGB8_TO_LINEAR[photo.image].mean(axis=2)
    skin = lab_to_linear(scene.skin_lab).mean()
    full = (skin - lab_to_linear(scene.pigment_lab).mean()) * scene.opacity
    errs = []
    for i in _isolated(photo.dots):
        x, y, d = (photo.dots[k][i] for k in ("x", "y", "diameter_px"))
        h = int(d) + 3
        cx, cy = int(round(x)), int(round(y))
        if h <= cx < lin.shape[1] - h and h <= cy < lin.shape[0] - h:
            win = lin[cy - h:cy + h + 1, cx - h:cx + h + 1]
            # The skin as encoded (8-bit rounding moves it by more than a small dot's error).
            bare = np.median(np.concatenate([win[0], win[-1], win[:, 0], win[:, -1]]))
            area = ((bare - win) / full).sum()
            errs.append(2 * math.sqrt(area / math.pi) / d - 1)
    assert len(errs) > 10
    assert abs(np.median(errs)) < 0.005


def test_core_darkness_in_lab_matches_truth_depth():
    scene = _clean("good_light", width_px=400, height_px=300, dot_diameter_mm=0.6,
                   density_per_cm2=20, opacity_spread=0.0, hairline=dict(side="none"))
    photo = synth.render(scene)
    idx = _isolated(photo.dots)
    cx = np.round(photo.dots["x"][idx]).astype(int)
    cy = np.round(photo.dots["y"][idx]).astype(int)
    core_rgb = photo.image[cy, cx].astype(float) / 255
    core_L = np.median([linear_to_lab(SRGB8_TO_LINEAR[(c * 255).astype(int)])[0]
                        for c in core_rgb])
    depth = (scene.skin_lab[0] - core_L) / scene.skin_lab[0]
    assert depth == pytest.approx(photo.truth["depth"], abs=0.02)
    assert photo.truth["depth"] == pytest.approx(0.39, abs=0.02)  # the worked number in the docs


def test_density_matches_parameter_and_truth():
    photo = synth.render(synth.preset("good_medium", width_px=1600, height_px=1200, seed=3))
    s = photo.scene
    assert photo.truth["density_per_cm2"] == pytest.approx(s.density_per_cm2, rel=0.05)
    n_inside = len(photo.dots["x"])
    assert n_inside / (s.width_mm * s.height_mm / 100) == pytest.approx(s.density_per_cm2,
                                                                          rel=0.05)


@pytest.mark.parametrize("width_mm", [0.0, 3.0, 8.0])
def test_hairline_density_falloff_has_the_true_width(width_mm):
    widths = []
    for seed in range(3):
        scene = synth.preset("good_light", width_px=2400, height_px=1200, seed=seed,
                             density_per_cm2=120,
                             hairline=dict(side="top", position=0.5, width_mm=width_mm,
                                           irregularity_mm=0.0))
        photo = synth.render(scene)
        y_mm = (photo.dots["y"] + 0.5) / scene.px_per_mm
        d = y_mm - 0.5 * scene.height_mm
        bins = np.arange(-12, 12.01, 0.5)
        counts, _ = np.histogram(d, bins)
        centres = (bins[:-1] + bins[1:]) / 2
        level = counts[centres > 9].mean()
        frac = np.maximum.accumulate(counts / level)  # monotone for a stable crossing
        widths.append(np.interp(0.9, frac, centres) - np.interp(0.1, frac, centres))
    # Binning at 0.5 mm sets the floor for a hard edge.
    assert np.mean(widths) == pytest.approx(width_mm, abs=max(0.15 * width_mm, 0.6))
    assert photo.truth["hairline"]["width_mm"] == width_mm


def test_hairline_curve_and_asymmetry_truth():
    photo = synth.render(synth.preset("asymmetric_hairline", width_px=800, height_px=600))
    hl = photo.truth["hairline"]
    assert hl["asymmetry_mm"] == pytest.approx(8.0)
    curve = np.array(hl["curve_px"])
    assert curve[:, 0].min() <= 0 and curve[:, 0].max() >= 799 - 10
    left = curve[curve[:, 0] < 200, 1].mean()
    right = curve[curve[:, 0] > 600, 1].mean()
    assert (right - left) / photo.scene.px_per_mm > 5


def _tile_vmr(photo, tile_mm=5.0):
    s = photo.scene
    t = tile_mm * s.px_per_mm
    nx, ny = int(s.width_px // t), int(s.height_px // t)
    counts, _, _ = np.histogram2d(photo.dots["x"], photo.dots["y"],
                                  bins=[nx, ny], range=[[0, nx * t], [0, ny * t]])
    return counts.var() / counts.mean()


def _dot_and_skin_lab(photo):
    """Median Lab at dot cores and of the skin far from any dot, from the pixels."""
    img = photo.image
    x = np.round(photo.dots["x"]).astype(int).clip(0, img.shape[1] - 1)
    y = np.round(photo.dots["y"]).astype(int).clip(0, img.shape[0] - 1)
    core = np.median(SRGB8_TO_LINEAR[img[y, x]], axis=0)
    mask = np.ones(img.shape[:2], bool)
    for xi, yi, di in zip(x, y, photo.dots["diameter_px"]):
        r = int(1.5 * di) + 3
        mask[max(yi - r, 0):yi + r, max(xi - r, 0):xi + r] = False
    skin = np.median(SRGB8_TO_LINEAR[img[mask]], axis=0)
    return linear_to_lab(core), linear_to_lab(skin)


@pytest.fixture(scope="module")
def photos():
    names = ["good_light", "oversized", "uneven_size", "too_dark", "faded", "blue_cast",
             "green_cast", "patchy", "blowout", "merged", "botched", "hard_hairline"]
    return {n: synth.render(synth.preset(n, width_px=800, height_px=600, seed=1)) for n in names}


def test_each_preset_shows_its_defect(photos):
    good = photos["good_light"]
    gt = good.truth
    assert photos["oversized"].truth["median_diameter_mm"] > 2.5 * gt["median_diameter_mm"]
    assert photos["uneven_size"].truth["robust_cv_diameter"] > 0.4 > 2 * gt["robust_cv_diameter"]
    # Darkness from the pixels: jet black is far darker, faded far lighter than good work.
    depth = {}
    for n in ("good_light", "too_dark", "faded", "botched"):
        core, skin = _dot_and_skin_lab(photos[n])
        depth[n] = (skin[0] - core[0]) / skin[0]
    assert depth["too_dark"] > 0.7 > depth["good_light"] > 0.25 > 0.15 > depth["faded"]
    assert depth["botched"] > 0.7
    # Colour from the pixels: the cast shows in b* (blue) or a* (green) at the dot cores.
    g_core, _ = _dot_and_skin_lab(good)
    b_core, _ = _dot_and_skin_lab(photos["blue_cast"])
    gr_core, _ = _dot_and_skin_lab(photos["green_cast"])
    assert b_core[2] < g_core[2] - 5
    assert gr_core[1] < g_core[1] - 4
    assert photos["blue_cast"].truth["pigment_cast_delta_e"] > 3 > 1.5 > gt["pigment_cast_delta_e"]
    # Uniformity from the dots: patchy work clusters, good work is even.
    assert _tile_vmr(photos["patchy"]) > 2.0
    even = synth.render(synth.preset("good_medium", width_px=800, height_px=600, seed=1))
    assert _tile_vmr(even) < 1.0
    assert photos["blowout"].truth["blowout_share"] == pytest.approx(0.35, abs=0.02)
    assert photos["merged"].truth["blowout_share"] == pytest.approx(0.30, abs=0.03)
    assert photos["hard_hairline"].truth["hairline"]["width_mm"] < 2
    assert photos["botched"].truth["median_diameter_mm"] > 0.65


def test_blowout_halo_darkens_the_ring_around_the_dot(photos):
    photo = photos["blowout"]
    lin = SRGB8_TO_LINEAR[photo.image].mean(axis=2)
    idx = _isolated(photo.dots, factor=3)
    ratio = {"normal": [], "blowout": []}
    for i in idx:
        k = photo.dots["kind"][i]
        x, y, r = photo.dots["x"][i], photo.dots["y"][i], photo.dots["diameter_px"][i] / 2
        h = int(2 * r + 5)
        cx, cy = int(round(x)), int(round(y))
        if k not in ratio or not (h <= cx < lin.shape[1] - h and h <= cy < lin.shape[0] - h):
            continue
        yy, xx = np.mgrid[cy - h:cy + h + 1, cx - h:cx + h + 1]
        rho = np.hypot(xx - x, yy - y)
        patch = lin[cy - h:cy + h + 1, cx - h:cx + h + 1]
        win = np.median(patch[rho >= 2 * r + 1]) - patch  # deficit against the local skin
        core = win[rho <= r / 2].mean()
        ring = win[(rho >= r + 1) & (rho <= 2 * r + 1)].mean()
        ratio[k].append(ring / core)
    assert np.percentile(ratio["normal"], 95) < 0.12
    assert np.median(ratio["blowout"]) > 0.15


def test_merged_twins_overlap(photos):
    d = photos["merged"].dots
    m = np.flatnonzero(d["kind"] == "merged")
    x, y = d["x"][m], d["y"][m]
    dist = np.hypot(x[:, None] - x[None], y[:, None] - y[None])
    np.fill_diagonal(dist, np.inf)
    assert np.all(dist.min(axis=1) < d["diameter_px"][m])


def test_every_preset_renders_and_is_listed():
    for name in synth.preset_names():
        p = synth.render(synth.preset(name, width_px=120, height_px=90))
        assert p.image.shape == (90, 120, 3) and p.image.dtype == np.uint8
        assert set(np.unique(p.dots["kind"])) <= set(synth.DOT_KINDS)
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        synth.preset("nope")


@pytest.mark.parametrize("bad,msg", [
    (dict(px_per_mm=0), "px_per_mm"), (dict(opacity=1.5), "opacity"),
    (dict(width_px=2), "width_px"),
    (dict(hairline=dict(side="middle")), "side"), (dict(clutter=dict(jpeg_quality=0)), "jpeg"),
    # Types: each of these once got through and failed later, in NumPy or OpenCV, or not at all.
    (dict(width_px=100.5), "Scene.width_px must be an integer"),
    (dict(seed=1.5), "Scene.seed must be an integer"), (dict(seed=-1), "seed must be >= 0"),
    (dict(clutter=dict(jpeg_quality=50.5)), "jpeg_quality must be None or an integer"),
    (dict(clutter=dict(noise="x")), "Clutter.noise must be a finite number"),
    (dict(clutter=dict(noise=np.float32("nan"))), "Clutter.noise must be a finite number"),
    (dict(skin_lab=(70, 10)), "Scene.skin_lab must be 3 finite numbers"),
    (dict(hairline=dict(side="top", position="0.3")), "Hairline.position must be a finite"),
])
def test_bad_parameters_are_rejected(bad, msg):
    with pytest.raises(ValueError, match=msg):
        synth.preset("good_light", **bad)


def test_numpy_numbers_and_lists_are_parameters():
    scene = synth.preset("good_light", width_px=np.int64(120), height_px=90,
                         px_per_mm=np.float32(20), skin_lab=[70, 10, 15])
    assert scene.skin_lab == (70.0, 10.0, 15.0) and hash(scene)  # kept a tuple: hashable
    assert synth.render(scene).image.shape == (90, 120, 3)


def test_write_files_follow_the_contract(tmp_path):
    from smpqa.io import load_image, read_px_per_mm

    photo = synth.render(synth.preset("merged", width_px=200, height_px=150, seed=9))
    paths = photo.write(tmp_path / "p.png")
    assert np.array_equal(load_image(paths["image"]), photo.image)
    assert read_px_per_mm(paths["image"]) == photo.scene.px_per_mm
    rows = paths["truth_csv"].read_text().splitlines()
    assert rows[0] == "x,y,diameter_px,kind,opacity"
    assert len(rows) - 1 == len(photo.dots["x"])
    meta = json.loads(paths["truth_json"].read_text())
    assert meta["scene"]["seed"] == 9 and meta["truth"]["n_dots"] == len(photo.dots["x"])


def test_kernels_match_their_python_versions():
    rng = np.random.default_rng(0)
    n = 6
    args = [rng.uniform(2, 18, n), rng.uniform(2, 14, n), rng.uniform(2, 18, n),
            rng.uniform(2, 14, n), rng.uniform(0.5, 4, n), rng.uniform(0.5, 2, n),
            rng.uniform(0.1, 1, n), rng.uniform(0, 0.5, n), rng.uniform(0.5, 3, n)]
    a = np.ones((16, 20), np.float32)
    b = a.copy()
    _kernels.stamp_capsules(a, *args)
    _kernels.stamp_capsules.py_func(b, *args)
    assert np.allclose(a, b, atol=1e-6) and a.min() < 0.9
    img = rng.random((16, 20, 3)).astype(np.float32)
    c = np.array([0.1, 0.2, 0.3], np.float32)
    assert np.allclose(_kernels.composite(img.copy(), a, c),
                       _kernels.composite.py_func(img.copy(), a, c))


def test_color_round_trip():
    lab = np.array([[72.0, 12.0, 16.0], [30.0, 0.0, -16.0]])
    assert np.allclose(linear_to_lab(lab_to_linear(lab)), lab, atol=0.05)
    v = np.linspace(0, 1, 11)
    assert np.allclose(SRGB8_TO_LINEAR[np.round(linear_to_srgb(v) * 255).astype(int)], v,
                       atol=0.005)


def test_lightness_and_luminance_are_inverse_and_match_lab():
    from smpqa.color import lightness_to_luminance, linear_to_lab, luminance_to_lightness

    Y = np.linspace(0.0, 1.0, 201)
    L = luminance_to_lightness(Y)
    assert np.allclose(lightness_to_luminance(L), Y, atol=1e-12)
    assert np.allclose(L, linear_to_lab(np.stack([Y] * 3, axis=-1))[:, 0], atol=1e-3)
    assert luminance_to_lightness(1.0) == pytest.approx(100.0) and luminance_to_lightness(0.0) == 0
