"""smpqa.research: data sets, evaluation against hand-computed truth, and the CLI."""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math

import numpy as np
import pytest

from smpqa import synth
from smpqa.errors import SmpqaError
from smpqa.profile import CRITERIA
from smpqa.research import (
    DatasetError,
    EvaluationError,
    _cli,
    evaluate,
    make_dataset,
    read_manifest,
    sample_dataset,
)
from smpqa.research.dataset import MANIFEST_COLUMNS, expected_verdicts, photo_seed

PPM = 10.0  # px/mm of the hand-made data sets: the ignored border is 10 px
W, H = 200, 100
OK = dict.fromkeys(CRITERIA, "pass_or_warn")


# --- hand-made data sets (no rendering: the truth is whatever we write) -----------------------


def _dots(n):
    """n <= 8 true dots on a row, 20 px apart, inside the border; diameter 6 px (reach 3 px)."""
    assert n <= 8  # x = 30 .. 170: the 9th would sit at 190, in the 10 px border
    return np.arange(n) * 20.0 + 30.0, np.full(n, 50.0), np.full(n, 6.0)


def _write_dataset(folder, photos):
    """photos: list of (stem, preset, n_dots, expected dict). Returns {stem: (x, y, d)}."""
    folder.mkdir(parents=True, exist_ok=True)
    truth = {}
    with open(folder / "manifest.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=MANIFEST_COLUMNS)
        w.writeheader()
        for stem, preset, n, expected in photos:
            x, y, d = truth[stem] = _dots(n)
            _write_csv(folder / f"{stem}.truth.csv", x, y, d, kind=True)
            w.writerow({"file": f"{stem}.png", "preset": preset, "seed": 0, "px_per_mm": PPM,
                        "width_px": W, "height_px": H, "sha256": "",
                        **{f"expected_{c}": expected[c] for c in CRITERIA}})
    return truth


def _write_csv(path, x, y, d=None, score=None, kind=False):
    cols = {"x": x, "y": y}
    if d is not None:
        cols["diameter_px"] = d
    if score is not None:
        cols["score"] = score
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(list(cols) + (["kind", "opacity"] if kind else []))
        for row in zip(*cols.values()):
            w.writerow([repr(float(v)) for v in row] + (["normal", "0.8"] if kind else []))


def _preds(folder, truth, change):
    """Write <stem>.csv predictions: change(x, y, d) -> (x, y, d[, score])."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem, (x, y, d) in truth.items():
        _write_csv(folder / f"{stem}.csv", *change(x.copy(), y.copy(), d.copy()))
    return folder


@pytest.fixture
def two_photos(tmp_path):
    truth = _write_dataset(tmp_path / "truth", [("a", "p1", 5, OK), ("b", "p2", 7, OK)])
    return tmp_path, truth


def _scores(s):
    return s["precision"], s["recall"], s["f1"]


def test_perfect_detector_scores_exactly_one_with_zero_errors(two_photos):
    tmp, truth = two_photos
    ev = evaluate(tmp / "truth", _preds(tmp / "pred", truth, lambda x, y, d: (x, y, d)))
    for s in (*ev.photos, *ev.presets.values(), ev.overall):
        assert _scores(s) == (1.0, 1.0, 1.0)
        assert s["diameter_bias_rel"] == 0.0 and s["diameter_median_abs_rel"] == 0.0
        assert s["diameter_median_abs_px"] == 0.0 and s["position_rmse_px"] == 0.0
    assert ev.overall["tp"] == 12 and ev.overall["fp"] == ev.overall["fn"] == 0
    assert ev.overall["f1_ci"] == [1.0, 1.0]


def test_dropping_every_other_dot_gives_the_hand_counted_recall(two_photos):
    tmp, truth = two_photos
    ev = evaluate(tmp / "truth", _preds(tmp / "pred", truth,
                                        lambda x, y, d: (x[::2], y[::2], d[::2])))
    # a: 5 dots, keeps 0, 2, 4 -> 3; b: 7 dots, keeps 0, 2, 4, 6 -> 4; together 7 of 12.
    by_name = {r["name"]: r for r in ev.photos}
    assert by_name["a.png"]["recall"] == 3 / 5 and by_name["b.png"]["recall"] == 4 / 7
    assert ev.overall["recall"] == 7 / 12
    assert ev.overall["precision"] == 1.0
    assert ev.overall["f1"] == pytest.approx(2 * (7 / 12) / (1 + 7 / 12), abs=1e-15)


def test_shift_of_one_px_still_matches_with_rmse_exactly_one(two_photos):
    tmp, truth = two_photos
    ev = evaluate(tmp / "truth", _preds(tmp / "pred", truth, lambda x, y, d: (x + 1, y, d)))
    assert _scores(ev.overall) == (1.0, 1.0, 1.0)
    assert ev.overall["position_rmse_px"] == 1.0
    assert ev.errors["position_px"].tolist() == [1.0] * 12


def test_shift_of_ten_px_scores_zero(two_photos):
    tmp, truth = two_photos
    ev = evaluate(tmp / "truth", _preds(tmp / "pred", truth, lambda x, y, d: (x + 10, y, d)))
    assert _scores(ev.overall) == (0.0, 0.0, 0.0)
    assert ev.overall["tp"] == 0 and ev.overall["fp"] == 12 and ev.overall["fn"] == 12
    assert math.isnan(ev.overall["position_rmse_px"])


def test_false_positives_in_the_border_are_ignored(two_photos):
    tmp, truth = two_photos
    edge_x = np.array([3.0, W - 4.0, 100.0, 100.0])  # all within 10 px (1 mm) of an edge
    edge_y = np.array([50.0, 50.0, 2.0, H - 3.0])
    ev = evaluate(tmp / "truth", _preds(tmp / "pred", truth, lambda x, y, d: (
        np.r_[x, edge_x], np.r_[y, edge_y], np.r_[d, np.full(4, 6.0)])))
    assert _scores(ev.overall) == (1.0, 1.0, 1.0)
    assert ev.overall["n_pred"] == 12
    assert {r["border_px"] for r in ev.photos} == {10.0}


def test_diameter_bias_is_the_median_relative_error(two_photos):
    tmp, truth = two_photos
    ev = evaluate(tmp / "truth", _preds(tmp / "pred", truth, lambda x, y, d: (x, y, d * 1.5)))
    assert ev.overall["diameter_bias_rel"] == 0.5
    assert ev.overall["diameter_median_abs_px"] == 3.0


def test_bootstrap_interval_has_zero_width_for_identical_photos(tmp_path):
    truth = _write_dataset(tmp_path / "t", [(f"s{i}", "p", 6, OK) for i in range(5)])
    ev = evaluate(tmp_path / "t", _preds(tmp_path / "p", truth,
                                         lambda x, y, d: (x[:4], y[:4], d[:4])), n_boot=200)
    for k in ("precision", "recall", "f1"):
        lo, hi = ev.overall[f"{k}_ci"]
        assert lo == hi == ev.overall[k]
    assert ev.overall["recall"] == 4 / 6


def test_bootstrap_interval_contains_the_estimate_and_is_reproducible(tmp_path):
    keep = [8, 4, 7, 6, 2, 5]
    truth = _write_dataset(tmp_path / "t", [(f"s{i}", "p", 8, OK) for i in range(len(keep))])
    pred = tmp_path / "p"
    pred.mkdir()
    for (stem, (x, y, d)), k in zip(truth.items(), keep):
        _write_csv(pred / f"{stem}.csv", x[:k], y[:k], d[:k])
    ev = evaluate(tmp_path / "t", pred, n_boot=500, seed=3)
    lo, hi = ev.overall["recall_ci"]
    assert lo < ev.overall["recall"] == 32 / 48 < hi
    assert evaluate(tmp_path / "t", pred, n_boot=500, seed=3).overall == ev.overall
    assert evaluate(tmp_path / "t", pred, n_boot=500, seed=4).overall["recall_ci"] != [lo, hi]


def _analysis_json(path, statuses):
    path.write_text(json.dumps({"source": "x", "verdicts": {
        c: {"status": s, "reasons": [], "values": {}, "thresholds": {}}
        for c, s in statuses.items()}}))


def test_verdict_confusion_matrix_on_a_hand_made_case(tmp_path):
    exp_fail_size = {**OK, "size": "fail", "hairline": "not_applicable"}
    truth = _write_dataset(tmp_path / "t", [("a", "big", 3, exp_fail_size),
                                            ("b", "big", 3, exp_fail_size),
                                            ("c", "good", 3, OK), ("d", "good", 3, OK)])
    pred = _preds(tmp_path / "p", truth, lambda x, y, d: (x, y, d))
    base = dict.fromkeys(CRITERIA, "pass")
    _analysis_json(pred / "a.json", {**base, "size": "fail", "hairline": "not_applicable"})
    _analysis_json(pred / "b.json", {**base, "size": "warn", "hairline": "not_applicable"})
    _analysis_json(pred / "c.json", {**base, "size": "fail", "hairline": "warn"})
    _analysis_json(pred / "d.json", {**base, "colour": "not_applicable", "hairline": "fail"})
    v = evaluate(tmp_path / "t", pred).verdicts
    size = v["size"]
    assert size["matrix"]["fail"] == {"pass": 0, "warn": 1, "fail": 1, "not_applicable": 0}
    assert size["matrix"]["pass_or_warn"] == {"pass": 1, "warn": 0, "fail": 1,
                                              "not_applicable": 0}
    assert (size["agree"], size["n"]) == (2, 4)  # a (fail/fail) and d (pass)
    assert (size["fails_caught"], size["n_expected_fail"]) == (1, 2)
    assert (size["false_fails"], size["n_expected_pass_or_warn"]) == (1, 2)
    hair = v["hairline"]
    assert hair["matrix"]["not_applicable"]["not_applicable"] == 2
    assert hair["matrix"]["pass_or_warn"] == {"pass": 0, "warn": 1, "fail": 1,
                                              "not_applicable": 0}
    assert hair["agree"] == 3
    assert v["colour"]["agree"] == 3  # n/a where pass_or_warn was expected disagrees
    assert v["darkness"]["agreement"] == 1.0


def test_verdicts_alone_from_a_batch_results_folder(tmp_path):
    truth = _write_dataset(tmp_path / "t", [("a", "p", 3, OK)])
    res = tmp_path / "audit" / "results"
    res.mkdir(parents=True)
    # smpqa batch names results <stem>-<hash>.json and records the photo in "source".
    _analysis_json(res / "a-0123456789.json", dict.fromkeys(CRITERIA, "pass"))
    data = json.loads((res / "a-0123456789.json").read_text())
    data["source"] = str(tmp_path / "t" / "a.png")
    (res / "a-0123456789.json").write_text(json.dumps(data))
    ev = evaluate(tmp_path / "t", tmp_path / "audit")
    assert not ev.has_detections and ev.pr_curve is None
    assert ev.verdicts["size"]["agree"] == 1
    assert "verdict agreement only" in ev.table()
    assert truth


def test_outputs_table_csv_strict_json_and_plots(two_photos):
    tmp, truth = two_photos
    rng = np.random.default_rng(0)
    pred = _preds(tmp / "pred", truth, lambda x, y, d: (
        np.r_[x, 60.0], np.r_[y, 80.0], np.r_[d, 6.0], rng.random(x.size + 1)))
    ev = evaluate(tmp / "truth", pred, n_boot=100)
    assert ev.pr_curve is not None
    assert ev.pr_curve["recall"][0] == 1.0  # the lowest threshold keeps every detection
    assert ev.pr_curve["recall"][-1] < 1.0
    text = ev.table()
    assert "p1" in text and "all" in text and "F1" in text
    rows = list(csv.DictReader(open(ev.to_csv(tmp / "e.csv"))))
    assert [r["level"] for r in rows] == ["photo", "photo", "preset", "preset", "overall"]
    assert rows[-1]["f1_lo"] and rows[0]["expected_size"] == "pass_or_warn"
    data = json.loads(ev.to_json(tmp / "e.json").read_text(),
                      parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
    assert data["overall"]["fp"] == 2 and data["photos"][0]["predicted"] is None
    names = sorted(p.name for p in ev.plot(tmp / "plots"))
    assert names == ["diameter_errors.png", "f1_by_preset.png", "position_errors.png",
                     "pr_curve.png"]
    assert all((tmp / "plots" / n).stat().st_size > 1000 for n in names)


def test_bad_inputs_raise_smpqa_errors(two_photos):
    tmp, truth = two_photos
    pred = _preds(tmp / "pred", truth, lambda x, y, d: (x, y, d))
    with pytest.raises(EvaluationError, match="either pred_dir or run"):
        evaluate(tmp / "truth", pred, run="smpqa")
    with pytest.raises(EvaluationError, match="either pred_dir or run"):
        evaluate(tmp / "truth")
    with pytest.raises(EvaluationError, match="no truth"):
        evaluate(tmp / "nothing", pred)
    with pytest.raises(EvaluationError, match="profile and view"):
        evaluate(tmp / "truth", pred, view="front")
    for kw, msg in ((dict(pixel_offset=float("nan")), "pixel_offset must be a finite number"),
                    (dict(n_boot=2.0), "n_boot must be an integer"),
                    (dict(seed=True), "seed must be an integer")):
        with pytest.raises(EvaluationError, match=msg):  # (a NaN offset made every row NaN)
            evaluate(tmp / "truth", pred, **kw)
    (pred / "b.csv").unlink()
    with pytest.raises(EvaluationError, match="no predictions for 1 photo.*b.csv"):
        evaluate(tmp / "truth", pred)
    _preds(pred, {"b": truth["b"]}, lambda x, y, d: (x, y, d))
    (pred / "a.csv").write_text("x,y\n1,oops\n")
    with pytest.raises(SmpqaError, match="a.csv.*row 2"):
        evaluate(tmp / "truth", pred)
    (tmp / "truth" / "manifest.csv").write_text("file,preset\na.png,p1\n")
    with pytest.raises(DatasetError, match="missing column"):
        read_manifest(tmp / "truth")


# --- simulated data sets ----------------------------------------------------------------------


def _shas(manifest):
    return [r["sha256"] for r in read_manifest(manifest.parent)]


def test_dataset_is_reproducible_and_seed_dependent(tmp_path):
    kw = dict(presets="good_medium,oversized", per_preset=1, size=(160, 120), progress=False)
    m1 = make_dataset(tmp_path / "one", seed=5, **kw)
    m2 = make_dataset(tmp_path / "two", seed=5, **kw)
    m3 = make_dataset(tmp_path / "three", seed=6, **kw)
    assert m1.read_bytes() == m2.read_bytes()
    assert _shas(m1) == _shas(m2)
    assert all(a != b for a, b in zip(_shas(m1), _shas(m3)))
    before = {p.name: p.read_bytes() for p in (tmp_path / "one").iterdir()}
    make_dataset(tmp_path / "one", seed=5, **kw)  # re-run: identical overwrite
    assert {p.name: p.read_bytes() for p in (tmp_path / "one").iterdir()} == before
    assert not [p for p in (tmp_path / "one").iterdir() if p.name.startswith(".")]


def test_manifest_columns_and_expected_verdicts(tmp_path):
    m = make_dataset(tmp_path, presets=["good_light", "good_medium", "oversized"], per_preset=2,
                     seed=1, size="40x30", progress=False)
    with open(m, newline="") as fh:
        assert tuple(next(csv.reader(fh))) == MANIFEST_COLUMNS == (
            "file", "preset", "seed", "px_per_mm", "width_px", "height_px", "expected_size",
            "expected_darkness", "expected_colour", "expected_uniformity", "expected_hairline",
            "expected_blowout", "sha256")
    rows = read_manifest(tmp_path)
    assert [r["file"] for r in rows] == ["good_light-000.png", "good_light-001.png",
                                         "good_medium-000.png", "good_medium-001.png",
                                         "oversized-000.png", "oversized-001.png"]
    by = {r["file"]: r for r in rows}
    assert by["oversized-000.png"]["expected_size"] == "fail"
    assert by["oversized-000.png"]["expected_darkness"] == "pass_or_warn"
    assert by["good_medium-000.png"]["expected_hairline"] == "not_applicable"  # crown view
    assert by["good_light-000.png"]["expected_hairline"] == "pass_or_warn"
    assert by["good_light-001.png"]["seed"] == photo_seed(1, "good_light", 1)
    assert rows[0]["seed"] != rows[1]["seed"]
    assert (rows[0]["width_px"], rows[0]["height_px"], rows[0]["px_per_mm"]) == (40, 30, 20.0)
    for r in rows:
        assert r["path"].is_file()
        assert (tmp_path / r["file"].replace(".png", ".truth.csv")).is_file()


def test_expected_hairline_follows_the_scene_edge():
    # botched is tested to fail four criteria, but its 0.5 mm edge is a hard one: the data
    # set expects the hairline to fail too; a 7 mm edge passes or warns, no edge is n/a.
    b = synth.preset("botched", seed=3)
    assert b.hairline.width_mm == 0.5 and "hairline" not in synth.PRESETS["botched"][1]
    assert expected_verdicts("botched", b)["hairline"] == "fail"
    assert expected_verdicts("botched", b)["colour"] == "pass_or_warn"
    soft = synth.preset("good_light", seed=3)
    assert expected_verdicts("good_light", soft)["hairline"] == "pass_or_warn"
    just_hard = synth.preset("good_light", seed=3, hairline={"width_mm": 1.9})
    assert expected_verdicts("good_light", just_hard)["hairline"] == "fail"
    at_limit = synth.preset("good_light", seed=3, hairline={"width_mm": 2.0})
    assert expected_verdicts("good_light", at_limit)["hairline"] == "pass_or_warn"
    crown = synth.preset("good_medium", seed=3)
    assert expected_verdicts("good_medium", crown)["hairline"] == "not_applicable"


def test_dataset_options_are_checked(tmp_path):
    with pytest.raises(DatasetError, match="unknown preset.*nope"):
        make_dataset(tmp_path, presets="good_light,nope", progress=False)
    with pytest.raises(DatasetError, match="unknown size"):
        make_dataset(tmp_path, size="huge", progress=False)
    with pytest.raises(DatasetError, match="per_preset"):
        make_dataset(tmp_path, per_preset=0, progress=False)
    with pytest.raises(DatasetError, match="seed"):
        make_dataset(tmp_path, seed=-1, progress=False)


def test_sample_dataset_is_shipped_and_consistent():
    folder = sample_dataset()
    rows = read_manifest(folder)
    assert [r["preset"] for r in rows] == ["good_light", "botched", "blowout", "patchy"]
    for r in rows:
        assert hashlib.sha256(r["path"].read_bytes()).hexdigest() == r["sha256"]
        scene = synth.preset(r["preset"], seed=r["seed"], width_px=r["width_px"],
                             height_px=r["height_px"])
        exp = expected_verdicts(r["preset"], scene)
        assert {c: r[f"expected_{c}"] for c in CRITERIA} == exp, r["file"]
    assert sum(p.stat().st_size for p in folder.iterdir()) < 3 * 2**20


# --- the command line -------------------------------------------------------------------------


def _cli_run(argv):
    parser = argparse.ArgumentParser(prog="smpqa")
    _cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_dataset_make_then_evaluate_run_smpqa(tmp_path, capsys):
    ds, out = tmp_path / "ds", tmp_path / "eval"
    assert _cli_run(["dataset", "make", str(ds), "--presets", "good_light,oversized",
                     "--per-preset", "1", "--seed", "2", "--size", "small", "--quiet"]) == 0
    assert "wrote 2 photos" in capsys.readouterr().out
    assert _cli_run(["evaluate", "--truth", str(ds), "--run", "smpqa", "--out", str(out),
                     "--n-boot", "50", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "good_light" in text and "oversized" in text and "Verdict agreement" in text
    data = json.loads((out / "evaluation.json").read_text())
    assert data["overall"]["f1"] > 0.9
    assert data["verdicts"]["size"]["fails_caught"] == 1  # oversized dots fail on size
    assert (out / "evaluation.csv").is_file() and (out / "pr_curve.png").is_file()


def test_run_smpqa_hands_the_printed_marker_to_the_analysis(tmp_path):
    ds = make_dataset(tmp_path / "ds", presets=["good_marker"], per_preset=2, seed=1,
                      size="600x450", progress=False).parent
    ev = evaluate(ds, run="smpqa", n_boot=0, progress=False)
    # Judged without it, the paper of the second photo is a bare patch: uniformity fails.
    assert [p["predicted"]["uniformity"] for p in ev.photos] == ["pass", "pass"]
    # A marker that is not in the photo: analysed without it, with a warning naming the photo.
    truth = ds / "good_marker-001.truth.json"
    data = json.loads(truth.read_text())
    data["truth"]["marker"]["id"] = 7
    truth.write_text(json.dumps(data))
    with pytest.warns(UserWarning, match="good_marker-001.png: no ArUco marker .* id 7") as rec:
        ev = evaluate(ds, run="smpqa", n_boot=0, progress=False)
    assert len(ev.photos) == 2
    data["truth"]["marker"]["side_mm"] = -1.0  # a malformed record: warned about, not fatal
    truth.write_text(json.dumps(data))
    with pytest.warns(UserWarning, match="good_marker-001.png: marker side_mm must be") as rec2:
        assert len(evaluate(ds, run="smpqa", n_boot=0, progress=False).photos) == 2
    # Both warnings point at the line that called evaluate, not inside smpqa.
    for r in (rec, rec2):
        assert [w.filename for w in r if "without the marker" in str(w.message)] == [__file__]


def test_run_smpqa_takes_each_photos_view_from_its_scene(tmp_path):
    ds = make_dataset(tmp_path / "ds", presets=["asymmetric_hairline", "good_light"],
                      per_preset=1, seed=1, size="1200x900", progress=False).parent
    rec = json.loads((ds / "asymmetric_hairline-000.truth.json").read_text())
    assert rec["scene"]["view"] == "front"
    assert json.loads((ds / "good_light-000.truth.json").read_text())["scene"]["view"] is None
    ev = evaluate(ds, run="smpqa", n_boot=0, progress=False)
    got = {p["preset"]: p["predicted"]["hairline"] for p in ev.photos}
    # The lopsided hairline is judged as the front view it is (8 mm: a fail); the good one's
    # hairline keeps no asymmetry metric, so its view does not decide its verdict.
    assert got["asymmetric_hairline"] == "fail" and got["good_light"] != "fail"
    # Without its recorded view the asymmetry is not judged: the photo passes or warns.
    rec["scene"]["view"] = None
    (ds / "asymmetric_hairline-000.truth.json").write_text(json.dumps(rec))
    ev = evaluate(ds, run="smpqa", n_boot=0, progress=False)
    assert [p["predicted"]["hairline"] for p in ev.photos][0] != "fail"
    # ... and an explicit view applies to every photo.
    ev = evaluate(ds, run="smpqa", view="front", n_boot=0, progress=False)
    assert [p["predicted"]["hairline"] for p in ev.photos][0] == "fail"


def test_cli_errors_and_help(tmp_path, capsys):
    with pytest.raises(DatasetError):
        _cli_run(["dataset", "make", str(tmp_path), "--size", "huge", "--quiet"])
    assert _cli_run(["dataset"]) == 2  # no action: help, usage error
    with pytest.raises(SystemExit):
        _cli_run(["evaluate", "--truth", str(tmp_path)])  # neither --pred nor --run
    for cmd in (["dataset", "make", "--help"], ["evaluate", "--help"]):
        with pytest.raises(SystemExit) as exc:
            _cli_run(cmd)
        assert exc.value.code == 0
        assert "examples:" in capsys.readouterr().out


# --- benchmarks/run_all.py: only its own section of docs/benchmarks.md changes ----------------


def _run_all_module():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "run_all.py"
    spec = importlib.util.spec_from_file_location("run_all", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_all_replaces_only_its_section(tmp_path):
    ra = _run_all_module()
    md = tmp_path / "benchmarks.md"
    ra.replace_section(md, "first")
    assert md.read_text() == f"{ra.BEGIN}\nfirst\n{ra.END}\n"
    md.write_text(f"# Benchmarks\n\nby hand\n\n{ra.BEGIN}\nold\n{ra.END}\n\n## After\ntail\n")
    ra.replace_section(md, "new table")
    assert md.read_text() == (f"# Benchmarks\n\nby hand\n\n{ra.BEGIN}\nnew table\n{ra.END}\n\n"
                              f"## After\ntail\n")
    other = tmp_path / "other.md"
    other.write_text("# Someone else's\n")
    ra.replace_section(other, "x")
    assert other.read_text() == f"# Someone else's\n\n{ra.BEGIN}\nx\n{ra.END}\n"
    other.write_text(f"{ra.END} only\n")
    with pytest.raises(SystemExit, match="only one of the run_all markers"):
        ra.replace_section(other, "x")
