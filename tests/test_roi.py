"""Regions of interest: masks, polygons, "auto", and the treated region they restrict."""

import json

import cv2
import numpy as np
import pytest
from skimage.measure import points_in_poly

from smpqa import RegionError, analyze, synth
from smpqa.cli import main
from smpqa.io import save_png
from smpqa.roi import auto_roi, load_roi

SHAPE = (60, 80)


def _poly_file(tmp_path, obj, name="roi.json"):
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return path


# --- masks and polygons -------------------------------------------------------------------------

def test_polygon_fills_the_pixel_centres_inside():
    m = load_roi({"polygon": [[9.5, 19.5], [29.5, 19.5], [29.5, 49.5], [9.5, 49.5]]}, SHAPE)
    assert m.dtype == bool and m.shape == SHAPE
    assert m.sum() == 20 * 30 and m[20:50, 10:30].all()


def test_every_source_gives_the_same_mask(tmp_path):
    poly = {"polygon": [[5, 5], [70, 10], [40, 50]]}
    ref = load_roi(poly, SHAPE)
    assert np.array_equal(load_roi(_poly_file(tmp_path, poly), SHAPE), ref)
    assert np.array_equal(load_roi(str(_poly_file(tmp_path, poly)), SHAPE), ref)
    mask_path = tmp_path / "mask.png"
    save_png(mask_path, np.repeat(ref[..., None].astype(np.uint8) * 255, 3, axis=2))
    assert np.array_equal(load_roi(mask_path, SHAPE), ref)
    assert np.array_equal(load_roi(ref.astype(np.uint8) * 7, SHAPE), ref)


@pytest.mark.parametrize("poly,match", [
    ({"polygon": [[500, 500], [600, 500], [600, 600]]}, "empty"),  # outside the photo
    ({"polygon": [[1, 1], [10, 10], [20, 20]]}, "empty"),  # zero area
    ({"polygon": [[1, 1], [10, 10]]}, "at least 3"),
    ({"polygon": [[1, 1], [10, "a"], [3, 7]]}, "finite numbers"),
    ({"polygon": [[1, 1], [10, float("nan")], [3, 7]]}, "finite numbers"),
    ({"polygon": [[1, 1, 1], [10, 2, 2], [3, 7, 3]]}, r"\[x, y\]"),
    ({"points": [[1, 1], [10, 2], [3, 7]]}, "polygon"),
    ([[1, 1], [10, 2], [3, 7]], "polygon"),
])
def test_bad_polygon_files_name_the_file(tmp_path, poly, match):
    path = _poly_file(tmp_path, json.dumps(poly), "bad_poly.json")
    with pytest.raises(RegionError, match=match) as exc:
        load_roi(path, SHAPE)
    assert "bad_poly.json" in str(exc.value)


def test_malformed_json_and_missing_files_name_the_file(tmp_path):
    with pytest.raises(RegionError, match=r"broken\.json.*not valid JSON"):
        load_roi(_poly_file(tmp_path, '{"polygon": [[1, 2], [3', "broken.json"), SHAPE)
    with pytest.raises(RegionError, match=r"nowhere\.png does not exist"):
        load_roi(tmp_path / "nowhere.png", SHAPE)
    with pytest.raises(RegionError, match=r"nowhere\.json does not exist"):
        load_roi(str(tmp_path / "nowhere.json"), SHAPE)
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    with pytest.raises(RegionError, match=r"junk\.png"):
        load_roi(junk, SHAPE)


def test_mask_of_the_wrong_size_says_both_sizes(tmp_path):
    path = tmp_path / "small_mask.png"
    save_png(path, np.full((30, 40, 3), 255, np.uint8))
    with pytest.raises(RegionError, match=r"small_mask\.png is 40x30 px .* photo is 80x60 px"):
        load_roi(path, SHAPE)
    with pytest.raises(RegionError, match="size"):
        load_roi(np.ones((10, 10), bool), SHAPE)
    with pytest.raises(RegionError, match="empty"):
        load_roi(np.zeros(SHAPE, np.uint8), SHAPE)
    with pytest.raises(TypeError):
        load_roi(42, SHAPE)


def test_a_mask_must_hold_finite_numbers():
    nan = np.zeros(SHAPE)
    nan[10:20, 10:20] = np.nan  # NaN != 0: read as inside, everywhere it was NaN
    with pytest.raises(RegionError, match="NaN or infinite"):
        load_roi(nan, SHAPE)
    with pytest.raises(RegionError, match="bools or numbers"):
        load_roi(np.full(SHAPE, "x", object), SHAPE)
    half = np.zeros(SHAPE, np.float32)
    half[:, :40] = 0.5
    assert load_roi(half, SHAPE).sum() == SHAPE[0] * 40


# --- in analyze() -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def medium():
    return synth.render(synth.preset("good_medium", seed=2, width_px=800, height_px=600))


def test_polygon_restricts_the_treated_region(tmp_path, medium):
    poly = [[100, 80], [650, 120], [560, 520], [150, 430]]
    path = _poly_file(tmp_path, {"polygon": poly})
    a = analyze(medium.image, px_per_mm=20, roi=path)
    grid = a.regions["grid"]
    cx, cy = grid.centres_px()
    inside = points_in_poly(np.stack([cx.ravel(), cy.ravel()], 1), poly).reshape(grid.shape)
    treated = a.regions["treated"]
    assert treated.sum() > 0.8 * inside.sum()
    assert not (treated & ~inside).any()  # no treated cell outside the polygon
    assert a.parameters["roi"] is True and a.parameters["roi_source"] == str(path)
    b = analyze(medium.image, px_per_mm=20, roi={"polygon": poly})
    assert np.array_equal(b.regions["treated"], treated)


def test_analyze_reports_bad_roi_files(tmp_path, medium):
    with pytest.raises(RegionError, match="missing.json"):
        analyze(medium.image, px_per_mm=20, roi=tmp_path / "missing.json")
    path = _poly_file(tmp_path, {"polygon": [[-50, -50], [-10, -50], [-10, -10]]}, "off.json")
    with pytest.raises(RegionError, match=r"off\.json is empty"):
        analyze(medium.image, px_per_mm=20, roi=path)


# --- "auto" -------------------------------------------------------------------------------------

def _with_background_and_hair(img, strip_rgb, seed=0):
    """A band of background across the top and a block of dark, strand-textured hair."""
    rng = np.random.default_rng(seed)
    img = img.copy()
    h, w = img.shape[:2]
    strip = np.array(strip_rgb) + rng.normal(0, 3, (100, w, 3))
    img[:100] = np.clip(strip, 0, 255).astype(np.uint8)
    block = np.clip(np.array([24, 19, 16]) + rng.normal(0, 4, (300, 200, 3)), 0, 255)
    block = block.astype(np.uint8)
    for _ in range(150):  # strands of lighter brown
        x0, y0, th = rng.uniform(0, 200), rng.uniform(0, 300), rng.normal(1.2, 0.2)
        ln = rng.uniform(40, 150)
        cv2.line(block, (int(x0), int(y0)), (int(x0 + ln * np.cos(th)), int(y0 + ln * np.sin(th))),
                 (70, 52, 40), 2, cv2.LINE_AA)
    img[200:500, w - 200:] = block
    bg = np.zeros((h, w), bool)
    bg[:100] = True
    hair = np.zeros((h, w), bool)
    hair[200:500, w - 200:] = True
    return img, bg, hair


@pytest.mark.parametrize("name,strip", [("good_medium", (128, 128, 128)),
                                        ("good_light", (40, 70, 160)),
                                        ("good_dark", (235, 235, 235))])
def test_auto_leaves_out_background_and_hair(name, strip):
    photo = synth.render(synth.preset(name, seed=3, width_px=800, height_px=600))
    img, bg, hair = _with_background_and_hair(photo.image, strip)
    roi = load_roi("auto", img.shape, rgb=img, px_per_mm=20.0)
    assert roi[bg].mean() < 0.02
    assert roi[hair].mean() < 0.15  # its corners are rounded off by the clean-up
    assert roi[~bg & ~hair].mean() > 0.95


def test_auto_keeps_all_of_plain_scalp_photos_but_not_the_marker():
    for name in ("good_light", "good_dark", "botched"):  # botched: jet-black clusters stay
        photo = synth.render(synth.preset(name, seed=1, width_px=800, height_px=600))
        assert auto_roi(photo.image, 20.0).mean() > 0.99, name
    photo = synth.render(synth.preset("good_marker", seed=1))
    roi = auto_roi(photo.image, 20.0)
    yy, xx = np.nonzero(~roi)
    paper = photo.truth["marker"]["paper_corners_px"]
    assert points_in_poly(np.stack([xx, yy], 1), paper).sum() > 0.9 * _area(np.asarray(paper))
    assert roi.mean() > 0.9


def _area(p):
    return 0.5 * abs(np.dot(p[:, 0], np.roll(p[:, 1], -1)) - np.dot(p[:, 1], np.roll(p[:, 0], -1)))


def test_auto_in_analyze_and_on_the_command_line(tmp_path, medium):
    img, bg, hair = _with_background_and_hair(medium.image, (40, 70, 160), seed=1)
    a = analyze(img, px_per_mm=20, roi="auto")
    grid = a.regions["grid"]
    treated_px = grid.upsample(a.regions["treated"])
    assert treated_px[bg].mean() < 0.02 and treated_px[hair].mean() < 0.15
    assert treated_px[~bg & ~hair].mean() > 0.9
    assert a.parameters["roi_source"] == "auto"
    path = tmp_path / "doctored.png"
    save_png(path, img, px_per_mm=20.0)
    out = tmp_path / "a.json"
    assert main(["analyze", str(path), "--roi", "auto", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["parameters"]["roi_source"] == "auto"
    assert main(["analyze", str(path), "--roi", str(tmp_path / "none.json")]) == 2


def test_auto_without_skin_says_what_to_do():
    grey = np.full((200, 300, 3), 128, np.uint8)
    with pytest.raises(RegionError, match="polygon"):
        auto_roi(grey, 10.0)


def test_batch_carries_marker_and_roi(tmp_path):
    from smpqa import Marker
    from smpqa.batch import BatchOptions, run_batch

    photo = synth.render(synth.preset("good_marker", seed=5, width_px=800, height_px=600,
                                      marker=dict(centre=(0.3, 0.6))))
    path = tmp_path / "in" / "p.png"
    path.parent.mkdir()
    save_png(path, photo.image)
    res = run_batch([path], tmp_path / "out", BatchOptions(marker=Marker(10), roi="auto",
                                                           html=False), progress=False)
    row = res["rows"][0]
    assert row["status"] == "ok", row["error"]
    assert row["px_per_mm"] == pytest.approx(20.0, rel=0.02)
