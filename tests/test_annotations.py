"""smpqa.research.annotations: CSV, COCO keypoints and VIA readers, and evaluation on them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from smpqa.errors import SmpqaError
from smpqa.io import save_png
from smpqa.research import evaluate
from smpqa.research.annotations import AnnotationError, PointSet, load_annotations


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def _json(path, obj):
    return _write(path, json.dumps(obj))


def _xy(ps: PointSet):
    return list(zip(ps.x.tolist(), ps.y.tolist()))


# --- CSV --------------------------------------------------------------------------------------


def test_csv_with_upper_case_columns_and_no_diameter(tmp_path):
    ann = load_annotations(_write(tmp_path / "photo1.csv", " X,Y,Slice\n10,20,1\n30.5,40,1\n"))
    assert list(ann) == ["photo1"]
    assert _xy(ann["photo1"]) == [(10.0, 20.0), (30.5, 40.0)]  # our convention: no shift
    assert ann["photo1"].diameter_px is None and len(ann["photo1"]) == 2


def test_csv_with_diameters_and_several_images(tmp_path):
    text = "image,x,y,diameter_px\na.png,1,2,5\nb.png,3,4,6\na.png,5,6,7\n"
    ann = load_annotations(_write(tmp_path / "all.csv", text))
    assert _xy(ann["a.png"]) == [(1.0, 2.0), (5.0, 6.0)]
    assert ann["a.png"].diameter_px.tolist() == [5.0, 7.0]
    assert ann["b.png"].diameter_px.tolist() == [6.0]


def test_folder_of_csv_files_and_header_only_file(tmp_path):
    _write(tmp_path / "a.csv", "x,y\n1,2\n")
    _write(tmp_path / "b.csv", "x,y\n")  # annotated, no dots
    ann = load_annotations(tmp_path)
    assert _xy(ann["a"]) == [(1.0, 2.0)] and len(ann["b"]) == 0


# --- COCO -------------------------------------------------------------------------------------


def _coco():
    return {"images": [{"id": 1, "file_name": "a.jpg", "width": 200, "height": 100},
                       {"id": 2, "file_name": "b.jpg"}, {"id": 3, "file_name": "c.jpg"}],
            "annotations": [
                {"id": 10, "image_id": 1, "keypoints": [10.5, 20.5, 2, 0, 0, 0, 30.5, 40.5, 1]},
                {"id": 11, "image_id": 2, "keypoints": [5, 6, 2]},
                {"id": 12, "image_id": 2, "keypoints": [7, 8, 2]},
                {"id": 13, "image_id": 2, "bbox": [0, 0, 5, 5]},  # not keypoints: skipped
            ],
            "categories": [{"id": 1, "name": "dot", "keypoints": ["centre"]}]}


def test_coco_keypoints_skip_unlabelled_and_shift_half_a_pixel(tmp_path):
    ann = load_annotations(_json(tmp_path / "coco.json", _coco()))
    assert set(ann) == {"a.jpg", "b.jpg", "c.jpg"}
    assert _xy(ann["a.jpg"]) == [(10.0, 20.0), (30.0, 40.0)]  # v = 0 skipped; -0.5 applied
    assert _xy(ann["b.jpg"]) == [(4.5, 5.5), (6.5, 7.5)]
    assert len(ann["c.jpg"]) == 0 and ann["a.jpg"].diameter_px is None
    raw = load_annotations(tmp_path / "coco.json", pixel_offset=0)
    assert _xy(raw["b.jpg"]) == [(5.0, 6.0), (7.0, 8.0)]


# --- VIA --------------------------------------------------------------------------------------


def _region(**shape):
    return {"shape_attributes": shape, "region_attributes": {}}


def test_via_project_points_circles_and_ignored_rectangles(tmp_path):
    project = {"_via_settings": {}, "_via_img_metadata": {
        "a.jpg1234": {"filename": "a.jpg", "size": 1234, "file_attributes": {}, "regions": [
            _region(name="point", cx=10, cy=20), _region(name="circle", cx=30, cy=40, r=3),
            _region(name="rect", x=0, y=0, width=5, height=5)]},
        "b.jpg99": {"filename": "b.jpg", "size": 99, "file_attributes": {}, "regions": []}}}
    ann = load_annotations(_json(tmp_path / "via_project.json", project))
    assert _xy(ann["a.jpg"]) == [(9.5, 19.5), (29.5, 39.5)]
    d = ann["a.jpg"].diameter_px
    assert np.isnan(d[0]) and d[1] == 6.0  # a point has no diameter, a circle 2 r
    assert len(ann["b.jpg"]) == 0


def test_via_export_and_version_1_region_dict(tmp_path):
    export = {"a.jpg1": {"filename": "a.jpg", "size": 1, "file_attributes": {},
                         "regions": {"0": _region(name="point", cx=4, cy=5),
                                     "1": _region(name="ellipse", cx=1, cy=2, rx=2, ry=4)}}}
    ann = load_annotations(_json(tmp_path / "via_export.json", export))
    assert _xy(ann["a.jpg"]) == [(3.5, 4.5), (0.5, 1.5)]
    assert ann["a.jpg"].diameter_px[1] == 6.0


# --- malformed files --------------------------------------------------------------------------


def _coco_with(**changes):
    data = _coco()
    data.update(changes)
    return data


MALFORMED = {
    "missing_column.csv": ("x,diameter_px\n1,2\n", r"missing column\(s\) y"),
    "non_numeric.csv": ("x,y\n1,2\n3,abc\n", r"row 3, column y: 'abc' is not a finite number"),
    "not_finite.csv": ("x,y\n1,nan\n", "not a finite number"),
    "empty.csv": ("", "empty file"),
    "negative_diameter.csv": ("x,y,diameter_px\n1,2,-3\n", "diameter_px must be positive"),
    "syntax.json": ('{"images": [', "invalid JSON at line 1"),
    "list.json": ("[1, 2, 3]", "unknown JSON annotation format"),
    "other.json": ('{"shapes": []}', "unknown JSON annotation format"),
    "keypoints_len.json": (json.dumps(_coco_with(annotations=[
        {"image_id": 1, "keypoints": [1, 2, 2, 3]}])), "4 numbers, not a multiple of 3"),
    "keypoints_text.json": (json.dumps(_coco_with(annotations=[
        {"image_id": 1, "keypoints": [1, "two", 2]}])), "non-numeric"),
    "unknown_image.json": (json.dumps(_coco_with(annotations=[
        {"image_id": 99, "keypoints": [1, 2, 2]}])), "image_id 99, which is not in 'images'"),
    "images_not_list.json": (json.dumps(_coco_with(images={"id": 1})), "must be lists"),
    "image_without_name.json": (json.dumps(_coco_with(images=[{"id": 1}])),
                                r"images\[0\] needs an 'id' and a 'file_name'"),
    "no_keypoints.json": (json.dumps(_coco_with(annotations=[{"image_id": 1, "bbox": [0] * 4}])),
                          "no annotation has 'keypoints'"),
    "via_no_cy.json": (json.dumps({"a": {"filename": "a.jpg", "regions": [
        {"shape_attributes": {"name": "point", "cx": 3}}]}}),
        r"a.jpg, region 0 \(point\): missing or non-numeric cy"),
    "via_no_shape.json": (json.dumps({"_via_img_metadata": {"a": {"filename": "a.jpg",
                                                                   "regions": [{}]}}}),
                          "needs 'shape_attributes'"),
    "via_zero_radius.json": (json.dumps({"a": {"filename": "a.jpg", "regions": [
        {"shape_attributes": {"name": "circle", "cx": 3, "cy": 4, "r": 0}}]}}),
        "radius must be positive"),
    "points.xml": ("<points/>", "unknown annotation format"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_files_name_the_file_and_the_problem(tmp_path, name):
    text, message = MALFORMED[name]
    path = _write(tmp_path / name, text)
    with pytest.raises(AnnotationError, match=message) as exc:
        load_annotations(path)
    assert name in str(exc.value)
    assert isinstance(exc.value, SmpqaError) and isinstance(exc.value, ValueError)


def test_unknown_forced_format(tmp_path):
    with pytest.raises(AnnotationError, match="unknown annotation format 'yolo'"):
        load_annotations(_write(tmp_path / "a.csv", "x,y\n"), format="yolo")
    with pytest.raises(AnnotationError, match="pixel_offset must be a finite number"):
        load_annotations(_write(tmp_path / "a.csv", "x,y\n1,2\n"), pixel_offset=float("inf"))


# --- evaluating against annotations -----------------------------------------------------------


def test_evaluate_predictions_against_coco_annotations(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    save_png(images / "a.png", np.full((100, 200, 3), 200, np.uint8), px_per_mm=10)
    x, y = np.array([30.0, 60.0, 90.0]), np.array([50.0, 50.0, 50.0])
    kp = [v for xi, yi in zip(x, y) for v in (xi + 0.5, yi + 0.5, 2)]  # COCO's corner origin
    kp += [3.5, 50.5, 2]  # a dot in the 1 mm border: ignored
    coco = {"images": [{"id": 1, "file_name": "a.png"}],
            "annotations": [{"id": 1, "image_id": 1, "keypoints": kp}]}
    truth = _json(tmp_path / "coco.json", coco)
    pred = tmp_path / "pred"
    pred.mkdir()
    _write(pred / "a.csv", "x,y\n" + "".join(f"{a},{b}\n" for a, b in zip(x, y)))
    ev = evaluate(truth, pred, images_dir=images)
    row = ev.photos[0]
    assert (row["precision"], row["recall"], row["position_rmse_px"]) == (1.0, 1.0, 0.0)
    assert row["border_px"] == 10.0 and row["n_true"] == 3 and row["preset"] == "annotated"
    assert ev.verdicts is None
    # Without the photos there is no scale or size: nothing is left out at the border.
    ev = evaluate(truth, pred)
    assert ev.photos[0]["n_true"] == 4 and ev.photos[0]["recall"] == 0.75


def test_evaluate_run_smpqa_on_an_annotated_real_style_photo(tmp_path):
    from smpqa import synth

    photo = synth.render(synth.preset("good_light", width_px=300, height_px=200, seed=4))
    images = tmp_path / "photos"
    images.mkdir()
    save_png(images / "client.png", photo.image)  # no scale in the file, like a real photo
    d = photo.dots
    via = {"client.png1": {"filename": "client.png", "size": 1, "file_attributes": {},
                           "regions": [_region(name="circle", cx=float(a) + 0.5,
                                               cy=float(b) + 0.5, r=float(c) / 2)
                                       for a, b, c in zip(d["x"], d["y"], d["diameter_px"])]}}
    truth = _json(tmp_path / "via.json", via)
    with pytest.raises(SmpqaError, match="no scale"):
        evaluate(truth, run="smpqa", images_dir=images)
    with pytest.raises(SmpqaError, match="needs the photos"):
        evaluate(truth, run="smpqa", px_per_mm=20)
    ev = evaluate(truth, run="smpqa", images_dir=images, px_per_mm=photo.scene.px_per_mm)
    assert ev.overall["f1"] > 0.95
    assert abs(ev.overall["diameter_bias_rel"]) < 0.1
    assert ev.pr_curve is not None  # smpqa's snr is the score
