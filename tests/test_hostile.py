"""Hostile inputs: smpqa never crashes, never hangs and never reports a silently wrong number.

Every case of the corpus (tests/hostile_corpus.py) goes through ``analyze`` and
``detect_dots``: each either gives a valid result or raises a typed error that
names the file. The command line, the HTML report and the batch index are then
fed hostile file names.
"""

from __future__ import annotations

import atexit
import csv
import html
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hostile_corpus import (
    ERROR,
    HOSTILE_NAMES,
    PX_PER_MM,
    RESULT,
    base_photo,
    build_corpus,
    shown_name,
)

import smpqa
from smpqa.batch import BatchOptions, find_photos, run_batch
from smpqa.cli import main
from smpqa.detect.table import COLUMNS
from smpqa.profile import CRITERIA, STATUSES
from smpqa.report import render_html

# The corpus is built once, at collection, so that every case is its own test.
_CORPUS_DIR = Path(tempfile.mkdtemp(prefix="smpqa-hostile-"))
atexit.register(shutil.rmtree, _CORPUS_DIR, ignore_errors=True)
CASES = build_corpus(_CORPUS_DIR)
NO_PIGMENT = "no pigment dots found"


def _params(cases):
    """pytest params, one per case; known bugs owned elsewhere become strict xfails."""
    return [pytest.param(c, id=c.name, marks=_bug_marks(c)) for c in cases]


def _bug_marks(case) -> list:
    if not case.known_bug:
        return []
    return [pytest.mark.xfail(strict=True, raises=AssertionError, reason=case.known_bug)]


def _everyday(c) -> bool:
    return "huge" not in c.tags


# --- checks ------------------------------------------------------------------------------------


def _call(case, fn):
    """Run `fn` on the case's input: (result, None) or (None, typed error).

    Any other exception propagates and fails the test with its traceback.
    """
    source = case.resolve()
    # Read-only arrays (views, broadcasts) cannot be modified: copy only writable ones.
    writable = isinstance(source, np.ndarray) and source.flags.writeable
    before = source.copy() if writable else None
    try:
        out = fn(source, px_per_mm=PX_PER_MM)
        error = None
    except case.errors as exc:
        out, error = None, exc
    if before is not None:  # the caller's array is never modified
        np.testing.assert_array_equal(source, before)
    return out, error


def _check_error(case, exc):
    assert case.expect != RESULT, f"a valid input was refused: {type(exc).__name__}: {exc}"
    msg = str(exc)
    assert msg and "\n" not in msg, f"message must be one line: {msg!r}"
    if case.mention:
        assert case.mention in msg, f"message does not name {case.mention!r}: {msg}"


# NaN means "could not be measured" here (metrics.blowout counts it as no halo); never inf.
_MAY_BE_NAN = {"halo_ratio"}


def _check_dots(dots, shape):
    """Every column finite, centres inside the image, sizes positive."""
    h, w = shape
    assert set(dots) == set(COLUMNS)
    for name, col in dots.items():
        assert len(col) == len(dots), name
        if col.dtype.kind == "f":
            ok = ~np.isinf(col) if name in _MAY_BE_NAN else np.isfinite(col)
            assert ok.all(), f"column {name} holds NaN or inf"
    assert ((dots["x"] >= -0.5) & (dots["x"] <= w - 0.5)).all(), "dot centre outside the image"
    assert ((dots["y"] >= -0.5) & (dots["y"] <= h - 0.5)).all(), "dot centre outside the image"
    assert (dots["diameter_px"] > 0).all() and (dots["area_px"] > 0).all()
    assert (dots["diameter_mm"] > 0).all() and (dots["elongation"] >= 1 - 1e-9).all()


def _finite_numbers(obj, where="result"):
    """Walk a JSON-like object: every number finite (None stands for "not measured")."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            _finite_numbers(v, f"{where}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _finite_numbers(v, f"{where}[{i}]")
    elif isinstance(obj, float):
        assert math.isfinite(obj), f"{where} is {obj}"


def _check_counts(case, n):
    if case.dots:
        lo, hi = case.dots
        assert lo <= n <= hi, f"{n} dots, expected {lo}..{hi}: a silently wrong count"


def _check_analysis(case, a):
    assert case.expect != ERROR, "a hostile input was accepted instead of refused"
    shape = a.regions["grid"].image_shape
    _check_dots(a.dots, shape)
    assert set(a.verdicts) == set(CRITERIA)
    assert all(v.status in STATUSES for v in a.verdicts.values())
    assert a.grade["status"] in STATUSES and a.grade["summary"]
    d = json.loads(json.dumps(a.to_dict(), allow_nan=False))
    _finite_numbers(d)
    json.loads(a.to_json())
    assert d["n_dots"] == len(a.dots)
    _check_counts(case, len(a.dots))
    if len(a.dots) == 0:
        assert a.grade["status"] == "not_applicable" and NO_PIGMENT in a.grade["summary"]
        assert all(v.status == "not_applicable" for v in a.verdicts.values())
    if case.no_dots:
        assert NO_PIGMENT in a.grade["summary"]
    if case.shape:
        assert shape == case.shape, f"image is {shape}, expected {case.shape} (EXIF orientation)"
    if case.reference is not None:
        np.testing.assert_array_equal(smpqa.load_image(case.resolve()), case.reference())


# --- every case --------------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_corpus_is_big_and_varied():
    cats = {c.category for c in CASES}
    assert len(CASES) >= 200
    assert {"truncated", "corrupt", "empty", "tiny", "bomb", "depth", "dtype", "mode", "exif",
            "not_image", "path", "name", "content", "layout", "type"} <= cats
    assert any("huge" in c.tags for c in CASES)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", _params(filter(_everyday, CASES)))
def test_analyze_gives_a_valid_result_or_a_typed_error(case):
    result, error = _call(case, smpqa.analyze)
    if error is not None:
        _check_error(case, error)
    else:
        _check_analysis(case, result)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", _params(filter(_everyday, CASES)))
def test_detect_dots_gives_a_valid_table_or_a_typed_error(case):
    dots, error = _call(case, smpqa.detect_dots)
    if error is not None:
        _check_error(case, error)
        return
    assert case.expect != ERROR, "a hostile input was accepted instead of refused"
    shape = smpqa.load_image(case.resolve()).shape[:2]
    _check_dots(dots, shape)
    _check_counts(case, len(dots))


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_photo_with_100k_dots_is_counted():
    """~100,000 dots on 27 MP: all found, every number valid (detect_dots runs inside)."""
    case = next(c for c in CASES if "huge" in c.tags)
    a, error = _call(case, smpqa.analyze)
    assert error is None
    _check_analysis(case, a)
    assert a.grade["status"] in ("pass", "warn")


@pytest.mark.timeout(30)
def test_file_system_refusals_are_not_called_corrupt():
    """A symlink loop or an over-long name is the path's fault: say so, not "corrupt"."""
    for name in ("loop_link.png", "n" * 300 + ".png"):
        with pytest.raises(smpqa.ImageError, match="cannot open the file") as info:
            smpqa.load_image(_CORPUS_DIR / "path" / name)
        assert "corrupt" not in str(info.value)


@pytest.mark.timeout(30)
def test_bad_scale_is_a_calibration_error():
    for bad in (0, -1, float("nan"), float("inf"), "twenty", [20]):
        with pytest.raises(smpqa.CalibrationError, match="px_per_mm"):
            smpqa.analyze(base_photo(), px_per_mm=bad)


@pytest.mark.parametrize("shape", [(1, 1, 3), (3, 3, 3), (180, 4, 3)])
@pytest.mark.timeout(30)
def test_tiny_images_raise_no_numpy_warnings(shape):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        smpqa.detect_dots(np.full(shape, 120, np.uint8), px_per_mm=PX_PER_MM)


# --- the command line --------------------------------------------------------------------------


def _bad_files():
    """Unreadable files: the corpus's plus junk under every hostile name."""
    files = [c.source for c in CASES if c.is_file and c.expect == ERROR]
    junk = _CORPUS_DIR / "cli_junk"
    junk.mkdir(exist_ok=True)
    for name in HOSTILE_NAMES:
        (junk / name).write_bytes(b"not a photo")
        files.append(junk / name)
    raw = os.fsencode(junk) + b"/\xff\xfe junk.png"
    with open(raw, "wb") as fh:
        fh.write(b"not a photo")
    return [*files, Path(os.fsdecode(raw))]


@pytest.mark.timeout(120)
def test_cli_analyze_bad_file_exits_2_with_one_line_naming_it(capsys):
    for path in _bad_files():
        for extra in (["--px-per-mm", "20"], []):
            code = main(["analyze", os.fspath(path), *extra])
            err = capsys.readouterr().err.strip().splitlines()
            assert code == 2, path
            assert len(err) == 1 and "Traceback" not in err[0], err
            assert err[0].startswith("smpqa analyze: error:")
            assert shown_name(path) in err[0], err[0]


@pytest.mark.timeout(120)
def test_cli_in_a_real_process_names_undecodable_and_multiline_names(tmp_path):
    """stderr of a real process: bytes that are not UTF-8 and newlines stay one clean line."""
    for raw in (b"\xff\xfe junk.png", b"line\nbreak.png"):
        path = os.fsencode(tmp_path) + b"/" + raw
        with open(path, "wb") as fh:
            fh.write(b"not a photo")
        r = subprocess.run([sys.executable, "-m", "smpqa", "analyze", path, "--px-per-mm", "20"],
                           capture_output=True, timeout=100)
        err = r.stderr.decode("utf-8").strip().splitlines()
        assert r.returncode == 2 and len(err) == 1, r.stderr
        assert shown_name(os.fsdecode(path)) in err[0]


@pytest.mark.timeout(60)
def test_cli_missing_scale_names_a_multiline_file_name(tmp_path, capsys):
    path = tmp_path / "line\nbreak.png"
    path.write_bytes((_CORPUS_DIR / "name" / HOSTILE_NAMES[0]).read_bytes())
    assert main(["analyze", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and shown_name(path) in err[0], err


# --- reports and batch outputs under hostile names ---------------------------------------------

_RAW_MARKUP = re.compile(r"<(img|script|svg)\b", re.IGNORECASE)


def _name_photos():
    return sorted((_CORPUS_DIR / "name").iterdir())


def _assert_markup_escaped(page: str, names):
    assert not _RAW_MARKUP.search(page.replace("<img class=", "")), "a file name became markup"
    for name in names:
        escaped = html.escape(name.encode("utf-8", "backslashreplace").decode("utf-8"))
        assert escaped in page, f"{name!r} is not shown escaped"
    page.encode("utf-8")  # a page that cannot be written as UTF-8 cannot be saved


@pytest.mark.timeout(120)
def test_report_escapes_hostile_file_names(tmp_path):
    picks = [p for p in _name_photos() if re.search(r"[<\"\udcff]", os.fsdecode(p.name))]
    assert len(picks) >= 4
    for path in picks:
        a = smpqa.analyze(path, px_per_mm=PX_PER_MM)
        page = render_html(a, smpqa.load_image(path))
        _assert_markup_escaped(page, [path.name])
        smpqa.report.write_html(tmp_path / "r.html", page)


@pytest.mark.timeout(180)
def test_batch_index_escapes_names_and_outputs_stay_inside(tmp_path):
    src = tmp_path / "in"
    shutil.copytree(_CORPUS_DIR / "name", src)
    (src / "<img src=x onerror=alert(2)> broken.png").write_bytes(b"junk")
    out = tmp_path / "out"
    photos = find_photos(src)
    res = run_batch(photos, out, BatchOptions(px_per_mm=PX_PER_MM), progress=False)
    assert res["n_ok"] == len(photos) - 1 and res["n_error"] == 1
    page = (out / "index.html").read_text(encoding="utf-8")
    _assert_markup_escaped(page, [p.name for p in photos])
    for report in (out / "results").glob("*.html"):
        assert not _RAW_MARKUP.search(report.read_text(encoding="utf-8").replace("<img class=", ""))
    # Nothing but safe names, all inside the output folder.
    made = list(out.rglob("*"))
    assert {p.relative_to(out).parts[0] for p in made} == {"results", "summary.csv", "index.html"}
    for p in made:
        assert re.fullmatch(r"[A-Za-z0-9._-]+", p.name), p.name
        assert Path(os.path.realpath(p)).is_relative_to(os.path.realpath(out))
    assert sorted(os.listdir(tmp_path)) == ["in", "out"]
    with open(out / "summary.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    shown = {os.fsdecode(p).encode("utf-8", "backslashreplace").decode("utf-8") for p in photos}
    assert {r["photo"] for r in rows} == shown
