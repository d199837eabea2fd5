"""Batch faults: a thousand photos, corrupt files, a batch killed half-way, a worker killed.

A batch must finish whatever its inputs hold, list every input in summary.csv
with its result or its error, and survive being killed: the re-run redoes
nothing that had finished, loses nothing, and leaves no half-written file.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smpqa import synth

N_PHOTOS = 1000
CORRUPT_EVERY = 20  # 5 % of the photos are broken files
W, H = 300, 250  # 0.075 MP each


def _corrupt_bytes(i: int, good: bytes) -> bytes:
    """A different kind of broken file by index: truncated, empty, text, markup, header only."""
    kinds = [good[: len(good) // 3], b"", b"not a photo at all\n",
             b"<html><img src=x onerror=alert(1)></html>", good[:40], good[:8] + b"\x00" * 500]
    return kinds[i % len(kinds)]


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> tuple[Path, set[str]]:
    """1,000 small photos (four distinct renders, copied) with 50 corrupt ones among them."""
    d = tmp_path_factory.mktemp("batch_in")
    renders = []
    for i, name in enumerate(("good_light", "botched", "faded", "good_medium")):
        paths = synth.render(synth.preset(name, width_px=W, height_px=H, seed=i)).write(
            tmp_path_factory.mktemp("render") / f"{name}.png")
        renders.append(paths["image"].read_bytes())
    corrupt = set()
    for i in range(N_PHOTOS):
        path = d / f"p{i:04d}.png"
        if i % CORRUPT_EVERY == 7:
            path.write_bytes(_corrupt_bytes(i // CORRUPT_EVERY, renders[0]))
            corrupt.add(str(path))
        else:
            path.write_bytes(renders[i % len(renders)])
    return d, corrupt


def _batch_cmd(src: Path, out: Path, jobs: int = 2) -> list[str]:
    return [sys.executable, "-m", "smpqa", "batch", str(src), "--out", str(out), "--jobs",
            str(jobs), "--no-html", "--quiet", "--px-per-mm", "20"]


def _results(out: Path) -> dict[str, tuple[int, int]]:
    """Finished results: JSON file name -> (inode, mtime in ns)."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in (out / "results").glob("*.json")}


def _wait_for(predicate, proc, timeout: float) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, f"batch ended early: {proc.communicate()}"
        assert time.monotonic() < end, "timed out waiting for the batch"
        time.sleep(0.05)


def _assert_all_json_whole(out: Path) -> None:
    for p in (out / "results").glob("*.json"):
        data = json.loads(p.read_text(encoding="utf-8"))  # a half-written file would not parse
        assert data["summary_row"]["status"] == "ok"


def _read_summary(out: Path) -> list[dict]:
    with open(out / "summary.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
@pytest.mark.timeout(170)
def test_batch_killed_half_way_resumes_without_redoing_or_losing(photos, tmp_path):
    src, corrupt = photos
    out = tmp_path / "out"
    # Run 1: SIGKILL the batch and its workers (the whole process group) mid-way.
    proc = subprocess.Popen(_batch_cmd(src, out), cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: len(_results(out)) >= 250, proc, timeout=120)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert not (out / "summary.csv").exists()
    _assert_all_json_whole(out)
    before = _results(out)
    assert 250 <= len(before) < N_PHOTOS - len(corrupt), "kill the batch half-way"
    # What a kill during a write leaves behind: temp files, never read, to be cleaned up.
    (out / "results" / ".p0001-0123456789.json.k1ll3d.tmp").write_text('{"half": ')
    (out / ".summary.csv.k1ll3d.tmp").write_text("photo,sta")

    # Run 2 finishes the rest.
    done = subprocess.run(_batch_cmd(src, out), cwd=tmp_path, capture_output=True, text=True,
                          timeout=150)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"({len(before)} already done)" in done.stdout

    after = _results(out)
    assert {k: after[k] for k in before} == before, "a finished photo was redone"
    assert len(after) == N_PHOTOS - len(corrupt)
    assert not list(out.rglob("*.tmp")), "temporary files were left behind"
    _assert_all_json_whole(out)

    rows = _read_summary(out)
    assert [r["photo"] for r in rows] == [str(p) for p in sorted(src.glob("*.png"))]
    errors = {r["photo"]: r["error"] for r in rows if r["status"] == "error"}
    assert set(errors) == corrupt
    assert all("ImageError" in e and Path(p).name in e for p, e in errors.items())
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == N_PHOTOS - len(corrupt)
    assert all(r["grade"] in ("pass", "warn", "fail", "not_applicable") for r in ok)


def _workers(pid: int) -> list[int]:
    """Pool worker processes under `pid` (multiprocessing spawn children)."""
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for kid in (task / "children").read_text().split():
                if b"spawn_main" in Path(f"/proc/{kid}/cmdline").read_bytes():
                    found.append(int(kid))
    except OSError:  # a process ended while we looked: look again next time
        return []
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
@pytest.mark.timeout(120)
def test_a_worker_killed_mid_batch_costs_nothing(photos, tmp_path):
    """The out-of-memory killer takes a worker: the batch retries its photos and finishes."""
    src_all, corrupt = photos
    src = tmp_path / "in"
    src.mkdir()
    names = [f"p{i:04d}.png" for i in range(160) if str(src_all / f"p{i:04d}.png") not in corrupt]
    for name in names:
        shutil.copy(src_all / name, src / name)
    out = tmp_path / "out"
    proc = subprocess.Popen(_batch_cmd(src, out), cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: len(_results(out)) >= 20 and _workers(proc.pid), proc, timeout=90)
        os.kill(_workers(proc.pid)[0], signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=100)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, stderr[-2000:]
    rows = _read_summary(out)
    assert len(rows) == len(names) and all(r["status"] == "ok" for r in rows), [
        r["error"] for r in rows if r["status"] != "ok"]
    assert not list(out.rglob("*.tmp"))


# --- memory under load: the benchmark runs -----------------------------------------------------

BENCH_MEMORY = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_memory.py"


@pytest.mark.timeout(180)
def test_memory_benchmark_runs_on_a_tiny_photo(tmp_path):
    """Smoke test of benchmarks/bench_memory.py: a table and sane JSON (no thresholds)."""
    out = tmp_path / "memory.json"
    r = subprocess.run([sys.executable, str(BENCH_MEMORY), "--size", "tiny", "--json", str(out)],
                       cwd=tmp_path, capture_output=True, text=True, timeout=170)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "| analyze(array) |" in r.stdout and "target:" in r.stdout
    report = json.loads(out.read_text())
    assert report["rgb_bytes"] == 400 * 300 * 3
    assert {row["call"] for row in report["rows"]} == {
        "analyze(array)", "analyze(png path)", "detect_dots(array)"}
    for row in report["rows"]:
        assert row["peak_mb"] >= row["rss_before_mb"] > 0
        assert row["x_rgb"] >= 0 and row["rss_source"] in ("VmHWM", "ru_maxrss")
