"""Smoke-run the size-accuracy benchmark on small photos, and its argument checks."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_size.py"


def _run(*args, timeout=300):
    return subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True,
                          timeout=timeout)


def test_bench_size_runs_and_writes_json(tmp_path):
    out = tmp_path / "s.json"
    r = _run("--preset", "good_light", "--ppm", "20", "--jpeg", "none,75", "--seeds", "1",
             "--field-mm", "20x15", "--json", str(out))
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    rows = data["rows"]
    assert [(row["px_per_mm"], row["jpeg_quality"]) for row in rows] == [(20.0, None),
                                                                         (20.0, 75)]
    for row in rows:
        assert row["size"] == "400x300" and row["n_matched"] > 100
        # The simulator's good work is 0.3 mm dots: 6 px across at 20 px/mm, found and sized
        # within a few percent (the docs' table gives the measured values).
        assert abs(row["true_diameter_px"] - 6.0) < 0.5
        assert row["recall"] > 0.95 and abs(row["bias_rel"]) < 0.1
        assert row["abs_error_rel"] < 0.1 and row["abs_error_rel_true_blur"] < 0.1
    assert "| good_light | 20 | lossless |" in r.stdout
    assert data["machine"]["cpus"] >= 1


def test_bench_size_refuses_bad_arguments():
    for args, word in ((["--jpeg", "101"], "outside 1..100"), (["--jpeg", "high"], "'high'"),
                       (["--ppm", "0"], "positive"), (["--field-mm", "40"], "WxH"),
                       (["--seeds", "1,x"], "integers"), (["--noise", "-1"], ">= 0")):
        r = _run(*args, timeout=60)
        assert r.returncode == 2 and word in r.stderr, (args, r.stderr)
