"""Smoke-run the analysis benchmark on a tiny photo (numbers are not judged here)."""

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_analyze.py"


def test_bench_analyze_runs_and_writes_json(tmp_path):
    out = tmp_path / "a.json"
    r = subprocess.run([sys.executable, str(BENCH), "--size", "tiny", "--repeat", "1",
                        "--preset", "good_light", "--preset", "botched", "--json", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    assert [row["preset"] for row in data["rows"]] == ["good_light", "botched"]
    for row in data["rows"]:
        assert row["n_dots"] > 0 and row["analyze_s"] > 0
    assert "good_light" in r.stdout and data["machine"]["cpus"] >= 1
