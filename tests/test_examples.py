"""Smoke tests of the scripts in examples/: each runs on tiny inputs and writes what it says."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(script, *args, cwd, expect_rc=0):
    """Run an example as a user would; return its stdout (the run's stderr on failure)."""
    cmd = [sys.executable, str(EXAMPLES / script), *map(str, args)]
    # MPLBACKEND is not needed (the scripts never touch pyplot), but keeps a stray GUI away.
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=240,
                       env={**os.environ, "MPLBACKEND": "Agg"})
    assert r.returncode == expect_rc, f"exit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    return r.stdout, r.stderr


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_audit_folder_simulates_audits_and_ranks(tmp_path):
    from smpqa import synth

    photos, out = tmp_path / "photos", tmp_path / "audit"
    stdout, _ = run_example("audit_folder.py", photos, "--simulate", 4, "--size", "tiny",
                            "--out", out, cwd=tmp_path)
    # The simulated mix alternates good work and flawed work.
    simulated = sorted(p.name for p in photos.glob("*.png"))
    presets = [name.split("_", 1)[1].removesuffix(".png") for name in simulated]
    assert len(simulated) == 4 and all(p in synth.PRESETS for p in presets)
    assert [bool(synth.PRESETS[p][1]) for p in presets] == [False, True, False, True]
    assert (out / "summary.csv").exists() and (out / "index.html").exists()
    assert len(list((out / "results").glob("*.html"))) == 4
    assert len(read_csv(out / "summary.csv")) == 4

    assert "4 photos audited, 0 could not be read" in stdout
    league = stdout.split("League table, worst first:")[1].split("Criteria that fail")[0]
    rows = [line.split() for line in league.splitlines() if ".png" in line]
    assert sorted(r[1] for r in rows) == simulated
    grades = [r[2] for r in rows]
    severity = {"fail": 3, "warn": 2, "pass": 1, "not_applicable": 0}
    assert grades == sorted(grades, key=severity.__getitem__, reverse=True)  # worst first
    assert grades[0] == "fail"  # each flawed preset fails at least one criterion
    counts = stdout.split("Criteria that fail most often:")[1]
    for criterion in ("size", "darkness", "colour", "uniformity", "hairline", "blowout"):
        assert criterion in counts
    assert str(out / "summary.csv") in stdout


def test_audit_folder_without_photos_or_simulate_is_a_usage_error(tmp_path):
    _, stderr = run_example("audit_folder.py", tmp_path / "nowhere", "--no-html", cwd=tmp_path,
                            expect_rc=2)
    assert "--simulate N" in stderr and "Traceback" not in stderr


def test_benchmark_detector_scores_both_methods_per_preset(tmp_path):
    pytest.importorskip("skimage")  # the baseline; without it only smpqa's rows are written
    out = tmp_path / "bench" / "scores.csv"
    stdout, _ = run_example("benchmark_detector.py", "--presets", "good_light,blowout",
                            "--seeds", "0", "--size", "tiny", "--out", out, cwd=tmp_path)
    table = stdout.split("diameter errors relative to the true diameter")[1]
    for word in ("good_light", "blowout", "smpqa", "blob_log", "precision", "recall", "f1"):
        assert word in table
    rows = read_csv(out)
    assert {(r["preset"], r["method"]) for r in rows} == {
        (p, m) for p in ("good_light", "blowout") for m in ("smpqa", "blob_log")}
    for r in rows:
        assert 0.0 <= float(r["f1"]) <= 1.0 and int(r["n_true"]) > 0
    smpqa_good = next(r for r in rows if r["preset"] == "good_light" and r["method"] == "smpqa")
    assert float(smpqa_good["f1"]) > 0.9  # a clean photo: the detector finds nearly every dot


def test_benchmark_detector_rejects_an_unknown_preset(tmp_path):
    _, stderr = run_example("benchmark_detector.py", "--presets", "no_such_preset", cwd=tmp_path,
                            expect_rc=2)
    assert "unknown preset(s) no_such_preset" in stderr


def test_metrics_across_presets_tables_and_figures(tmp_path):
    from smpqa import synth

    out = tmp_path / "figures"
    stdout, _ = run_example("metrics_across_presets.py", "--size", "tiny", "--sweep-points", 3,
                            "--out", out, cwd=tmp_path)
    for png in ("metrics_across_presets.png", "size_sweep.png"):
        data = (out / png).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 10_000
    table = stdout.split("Size sweep")[0]
    for name in synth.PRESETS:  # every preset is analysed and listed
        assert f"\n{name} " in table
    for metric in ("median_diameter_mm", "depth", "cast_delta_e", "tile_vmr", "width_mm",
                   "blowout_share"):
        assert metric in table
    sweep = stdout.split("Size sweep")[1]
    assert "0.30 mm ->" in sweep and "0.90 mm ->" in sweep
    assert "leaves the pass band (0.50 mm)" in sweep
