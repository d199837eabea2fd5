"""Smoke tests of benchmarks/bench_detect.py and bench_stages.py: tiny photos, no timings."""

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_detect.py"


def _run_bench(tmp_path, methods, *extra):
    out = tmp_path / "bench.json"
    cmd = [sys.executable, str(SCRIPT), "--size", "tiny", "--preset", "good_light",
           "--repeat", "1", "--methods", methods, "--json", str(out), *extra]
    r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "| good_light" in r.stdout  # the table was printed
    data = json.loads(out.read_text())
    return {row["method"]: row for row in data["rows"]}, data


def _is_time(v):
    return isinstance(v, float) and math.isfinite(v) and v >= 0


@pytest.mark.timeout(600)
def test_smpqa_only_run_writes_scores_and_timings(tmp_path):
    # --cold compiles every kernel into an empty cache folder (about a minute on 2 cores).
    rows, data = _run_bench(tmp_path, "smpqa", "--cold")
    assert set(rows) == {"smpqa"}
    row = rows["smpqa"]
    assert row["f1"] > 0.9
    assert _is_time(row["first_s"]) and _is_time(row["warm_s"]) and row["n_warm"] == 1
    assert _is_time(row["import_s"])  # the detector's import, timed apart from the first call
    # Compiling is slower than loading the cache: a cold call that loaded it would not be.
    assert _is_time(row["cold_s"]) and row["cold_s"] > row["first_s"] and not row["note"]
    assert isinstance(row["rss_mb"], float) and isinstance(row["traced_mb"], float)
    assert data["image_bytes"] == 400 * 300 * 3
    assert data["machine"]["cpu_count"] >= 1 and data["machine"]["numpy_version"]


def test_cold_run_refuses_a_process_where_numba_is_loaded(monkeypatch):
    import numba  # noqa: F401  (the cache folder is read when numba is imported)

    spec = importlib.util.spec_from_file_location("bench_detect", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_detect", bench)  # dataclasses look it up
    spec.loader.exec_module(bench)
    assert "imported before" in bench.cold_in_child("smpqa", "unused.npy", 20.0)["error"]


def test_run_with_trackpy_and_sep(tmp_path):
    pytest.importorskip("trackpy")
    pytest.importorskip("sep")
    rows, _ = _run_bench(tmp_path, "smpqa,trackpy,sep")
    assert set(rows) == {"smpqa", "trackpy", "sep"}
    assert rows["smpqa"]["f1"] > 0.9
    for row in rows.values():
        assert 0.0 <= row["f1"] <= 1.0
        assert _is_time(row["first_s"]) and _is_time(row["warm_s"])


def test_missing_peer_is_skipped_with_a_note(monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_detect", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_detect", bench)  # dataclasses look it up
    spec.loader.exec_module(bench)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "trackpy" else real(name, *a))
    ok, notes = bench.available_methods(["smpqa", "trackpy", "nope"])
    assert ok == ["smpqa"]
    assert any("trackpy: skipped, missing trackpy" in n for n in notes)
    assert any("nope: unknown method" in n for n in notes)


@pytest.mark.timeout(600)
def test_stage_timings_add_up_to_the_call(tmp_path):
    """benchmarks/bench_stages.py: every stage timed, the rest never negative."""
    out = tmp_path / "stages.json"
    script = SCRIPT.parent / "bench_stages.py"
    cmd = [sys.executable, str(script), "--size", "tiny", "--preset", "good_stubble",
           "--repeat", "2", "--json", str(out)]
    r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "| measure |" in r.stdout
    data = json.loads(out.read_text())
    stages = {row["stage"]: row for row in data["stages"]}
    assert {"measure", "darkening", "line_excess", "find_glare", "(the rest)"} <= set(stages)
    assert stages["line_excess"]["calls"] >= 2 and stages["measure"]["calls"] == 1
    assert all(_is_time(row["wall_s"]) and _is_time(row["cpu_s"]) for row in stages.values())
    timed = sum(row["wall_s"] for name, row in stages.items() if name != "(the rest)")
    assert timed <= data["wall_s"] * 1.05 and data["machine"]["cpu_count"] >= 1
    bad = subprocess.run([sys.executable, str(script), "--repeat", "0"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "--repeat must be at least 1" in bad.stderr
