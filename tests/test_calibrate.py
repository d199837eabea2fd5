"""Scale from a printed ArUco marker, against the simulator's truth; the marker in analyze()."""

import json

import numpy as np
import pytest
from skimage.measure import points_in_poly

from smpqa import CalibrationError, Marker, analyze, synth
from smpqa.calibrate import marker_region, marker_scale
from smpqa.cli import main
from smpqa.io import save_png
from smpqa.synth.scene import PrintedMarker

FRAME = dict(width_px=640, height_px=600)


def _marker_photo(rotation_deg=0.0, tilt_deg=0.0, px_per_mm=20.0, seed=2, centre=(0.5, 0.5),
                  **marker):
    scene = synth.preset("good_medium", seed=seed, px_per_mm=px_per_mm, **FRAME,
                         marker=dict(centre=centre, rotation_deg=rotation_deg,
                                     tilt_deg=tilt_deg, **marker))
    return synth.render(scene)


def _rel_error(photo, found):
    return found.px_per_mm / photo.truth["marker"]["px_per_mm_at_marker"] - 1


@pytest.mark.parametrize("tilt", [0.0, 10.0, 20.0])
@pytest.mark.parametrize("rotation", [0.0, 30.0, 75.0])
def test_marker_scale_within_2_percent_at_any_rotation_and_tilt(rotation, tilt):
    photo = _marker_photo(rotation, tilt)
    found = marker_scale(photo.image, Marker(side_mm=10))
    assert abs(_rel_error(photo, found)) < 0.02
    assert found.id == 0
    # The corners are the drawn ones (same cv2.aruco order) to a fraction of a pixel.
    err = np.hypot(*(np.asarray(found.corners_px) - photo.truth["marker"]["corners_px"]).T)
    assert err.max() < 0.6


@pytest.mark.parametrize("ppm", [12.0, 30.0])
def test_marker_scale_within_2_percent_at_low_and_high_resolution(ppm):
    photo = _marker_photo(30.0, 10.0, px_per_mm=ppm)
    assert abs(_rel_error(photo, marker_scale(photo.image, Marker(side_mm=10)))) < 0.02


@pytest.mark.parametrize("centre", [(0.0, 0.5), (0.5, 1.0), (1.0, 0.0)])
def test_a_print_at_the_frame_is_kept_whole_and_found(centre):
    # The simulator moves the print inward until all of it is in the photo. cv2.aruco's
    # default grouping of candidates lost 9 of these 9 prints (3 places x 3 rotations) to
    # their white margin, which it took for the marker.
    photo = _marker_photo(12.0, centre=centre)
    paper = np.asarray(photo.truth["marker"]["paper_corners_px"])
    h, w = photo.image.shape[:2]
    assert paper.min() >= 1.9 and (paper.max(axis=0) <= [w - 2.9, h - 2.9]).all()
    assert np.isclose(paper.min(axis=0), 2.0).any() or np.isclose(paper.max(axis=0),
                                                                  [w - 3, h - 3]).any()
    found = marker_scale(photo.image, Marker(side_mm=10))
    assert abs(_rel_error(photo, found)) < 0.02


def test_good_marker_in_a_small_photo_gives_the_scale_and_is_not_judged():
    # At 600 x 450 the preset's print used to run out of the frame, and with it in, cv2.aruco
    # took its white margin for the marker: no scale, and the paper judged as a bare patch.
    photo = synth.render(synth.preset("good_marker", width_px=600, height_px=450, seed=1))
    a = analyze(photo.image, marker=Marker(10))
    assert a.scale["px_per_mm"] == pytest.approx(20.0, rel=0.01)
    assert a.verdicts["uniformity"].status in ("pass", "warn")


def test_a_print_already_in_the_frame_stays_where_it_was_put():
    photo = _marker_photo(30.0, centre=(0.4, 0.45))
    paper = np.asarray(photo.truth["marker"]["paper_corners_px"])
    h, w = photo.image.shape[:2]
    assert paper.mean(axis=0) == pytest.approx([0.4 * w - 0.5, 0.45 * h - 0.5], abs=1e-6)


def test_a_marker_cut_by_the_frame_is_not_found():
    photo = _marker_photo(0.0, centre=(0.5, 0.5))
    h, w = photo.image.shape[:2]
    c = np.asarray(photo.truth["marker"]["corners_px"])
    cut = np.ascontiguousarray(photo.image[:, : int(c[:, 0].mean())])  # the left half of it
    with pytest.raises(CalibrationError, match="no ArUco marker"):
        marker_scale(cut, Marker(side_mm=10))


def test_uncertainty_grows_with_tilt_and_truth_follows_the_drawn_corners():
    flat, tilted = _marker_photo(30.0, 0.0), _marker_photo(30.0, 20.0)
    assert flat.truth["marker"]["px_per_mm_at_marker"] == pytest.approx(20.0, rel=1e-9)
    # Foreshortening: one axis shrinks by cos(20 deg), so the mean side by about 3 %.
    assert tilted.truth["marker"]["px_per_mm_at_marker"] == pytest.approx(19.4, abs=0.05)
    u_flat = marker_scale(flat.image, Marker(10)).uncertainty_px_per_mm
    u_tilt = marker_scale(tilted.image, Marker(10)).uncertainty_px_per_mm
    assert u_flat < 0.005 * 20 < 0.01 * 20 < u_tilt


def test_the_print_hides_the_dots_under_it():
    plain = synth.render(synth.preset("good_medium", seed=2, **FRAME))
    photo = _marker_photo()
    paper = np.asarray(photo.truth["marker"]["paper_corners_px"])
    xy = np.stack([photo.dots["x"], photo.dots["y"]], 1)
    assert not points_in_poly(xy, paper).any()
    hidden = points_in_poly(np.stack([plain.dots["x"], plain.dots["y"]], 1), paper)
    assert hidden.sum() > 50 and photo.truth["n_dots"] == plain.truth["n_dots"] - hidden.sum()
    assert np.array_equal(photo.dots["x"], plain.dots["x"][~hidden])  # nothing else moves
    assert photo.truth["density_per_cm2"] == pytest.approx(plain.truth["density_per_cm2"],
                                                           rel=0.03)


@pytest.fixture(scope="module")
def good_marker():
    photo = synth.render(synth.preset("good_marker", seed=1))
    return photo, analyze(photo.image, marker=Marker(side_mm=10))


def test_analysis_takes_the_scale_from_the_marker(good_marker):
    photo, a = good_marker
    assert a.scale["method"] == "marker"
    assert a.scale["px_per_mm"] == pytest.approx(20.0, rel=0.02)
    assert 0 <= a.scale["uncertainty_px_per_mm"] < 0.1
    assert np.shape(a.scale["marker_corners_px"]) == (4, 2)
    assert a.scale["marker_id"] == 0 and a.parameters["marker"]["side_mm"] == 10.0
    json.loads(a.to_json())  # the scale is JSON-safe
    assert a.metrics["size"]["median_diameter_mm"] == pytest.approx(
        photo.truth["median_diameter_mm"], rel=0.05)


def test_the_marker_is_not_judged(good_marker):
    photo, a = good_marker
    paper = np.asarray(photo.truth["marker"]["paper_corners_px"])
    # No dot on the print and none oversized within 2 mm of it: the marker's black cells
    # are not pigment, and the bare skin along the paper's edge is not a dot either.
    grown = paper.mean(0) + 1.3 * (paper - paper.mean(0))
    xy = np.stack([a.dots["x"], a.dots["y"]], 1)
    assert not points_in_poly(xy, paper).any()
    near = points_in_poly(xy, grown)
    assert near.sum() > 20
    assert a.dots["diameter_mm"][near].max() < 2 * photo.truth["median_diameter_mm"]
    assert a.verdicts["size"].status == "pass"
    assert a.grade["status"] != "fail"
    # The print is left out of the treated region rather than judged as a bare patch.
    cx, cy = a.regions["grid"].centres_px()
    on_paper = points_in_poly(np.stack([cx.ravel(), cy.ravel()], 1), paper).reshape(cx.shape)
    assert not (a.regions["treated"] & on_paper).any()


def test_marker_region_covers_the_print_and_a_margin(good_marker):
    photo, a = good_marker
    region = marker_region(photo.image, a.scale["marker_corners_px"])
    paper = np.asarray(photo.truth["marker"]["paper_corners_px"])
    yy, xx = np.nonzero(region)
    inside = points_in_poly(np.stack([xx, yy], 1), paper).sum()
    assert inside >= 0.98 * _polygon_area(paper)  # the whole print, its white margin included
    assert region.sum() < 1.6 * _polygon_area(paper)  # and not much more


def _polygon_area(p):
    x, y = p[:, 0], p[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def test_scale_order_argument_then_marker_then_metadata(tmp_path):
    photo = _marker_photo(rotation_deg=20.0, seed=3)
    path = tmp_path / "wrong_metadata.png"
    save_png(path, photo.image, px_per_mm=25.0)
    a = analyze(path, px_per_mm=21.0, marker=Marker(10))
    assert a.scale["method"] == "argument" and a.scale["px_per_mm"] == 21.0
    assert a.scale["marker_px_per_mm"] == pytest.approx(20.0, rel=0.02)
    b = analyze(path, marker=Marker(10))
    assert b.scale["method"] == "marker" and b.scale["px_per_mm"] == pytest.approx(20, rel=0.02)
    assert analyze(path).scale == {"px_per_mm": 25.0, "method": "metadata"}
    with pytest.raises(CalibrationError, match="marker"):
        analyze(photo.image)


def test_no_marker_in_the_photo_names_the_file(tmp_path):
    path = tmp_path / "no_marker.png"
    save_png(path, synth.render(synth.preset("good_medium", seed=1, **FRAME)).image)
    with pytest.raises(CalibrationError, match=r"no ArUco marker DICT_4X4_50 found in .*no_marker"):
        marker_scale(path, Marker(10))
    with pytest.raises(CalibrationError, match="no_marker.png"):
        analyze(path, marker=Marker(10))


def test_two_markers_need_an_id():
    left = synth.render(synth.preset("good_medium", seed=1, width_px=800, height_px=400,
                                     px_per_mm=12.0, marker=dict(id=3, centre=(0.25, 0.5))))
    right = synth.render(synth.preset("good_medium", seed=1, width_px=800, height_px=400,
                                      px_per_mm=12.0, marker=dict(id=7, centre=(0.75, 0.5),
                                                                  rotation_deg=40.0)))
    both = np.concatenate([left.image[:, :400], right.image[:, 400:]], axis=1)
    with pytest.raises(CalibrationError, match=r"ids \[3, 7\].*Marker\(id=\.\.\.\)"):
        marker_scale(both, Marker(10))
    found = marker_scale(both, Marker(10, id=7))
    assert found.id == 7 and found.px_per_mm == pytest.approx(12.0, rel=0.02)
    with pytest.raises(CalibrationError, match=r"with id 5 .*found ids \[3, 7\]"):
        marker_scale(both, Marker(10, id=5))


@pytest.mark.parametrize("bad", [dict(side_mm=0), dict(side_mm=-3), dict(side_mm=float("nan")),
                                 dict(side_mm=float("inf")), dict(side_mm="10"),
                                 dict(id=50), dict(id=-1)])
def test_bad_marker_specs_are_rejected(bad):
    with pytest.raises(ValueError):
        Marker(**bad)


def test_unknown_dictionary_lists_valid_names():
    with pytest.raises(ValueError, match="DICT_4X4_50"):
        Marker(10, dictionary="DICT_9X9_1")
    with pytest.raises(ValueError, match="dictionary"):
        PrintedMarker(dictionary="nope")
    with pytest.raises(ValueError, match="tilt"):
        PrintedMarker(tilt_deg=70)


def test_good_marker_preset_and_scene_dicts():
    assert "good_marker" in synth.preset_names()
    scene = synth.preset("good_marker")
    assert isinstance(scene.marker, PrintedMarker) and scene.marker.side_mm == 10.0
    assert synth.preset("good_light").marker is None
    moved = scene.replace(marker=dict(id=4))
    assert moved.marker.id == 4 and moved.marker.rotation_deg == scene.marker.rotation_deg
    # A marker far larger than the frame still renders.
    assert synth.render(synth.preset("good_marker", width_px=120, height_px=90)).image.shape == (
        90, 120, 3)


def test_cli_marker_flags(tmp_path, capsys):
    photo = _marker_photo(rotation_deg=15.0, seed=4)
    path = tmp_path / "m.png"
    save_png(path, photo.image)  # no scale in the metadata: the marker must give it
    out = tmp_path / "m.json"
    assert main(["analyze", str(path), "--marker-mm", "10", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["scale"]["method"] == "marker"
    assert result["scale"]["px_per_mm"] == pytest.approx(20.0, rel=0.02)
    assert "from marker" in capsys.readouterr().out
    assert main(["analyze", str(path), "--marker-id", "3"]) == 2
    assert "--marker-mm" in capsys.readouterr().err
    assert main(["analyze", str(path), "--marker-mm", "10", "--marker-dict", "DICT_X"]) == 2
    assert main(["analyze", str(path), "--marker-mm", "10", "--marker-id", "9"]) == 2
    assert "id 9" in capsys.readouterr().err
