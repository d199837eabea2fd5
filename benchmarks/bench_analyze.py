"""Time smpqa.analyze on simulated photos, stage by stage.

Prints one table (one row per preset) with the warm time of each stage of
the pipeline and of the whole call, and optionally writes it as JSON::

    python benchmarks/bench_analyze.py --size 12mp --preset good_light --json out.json

Stages: detection (detect_dots), regions (treated region), hairline, uniformity,
the other metrics with judging, and the whole analyze() call. Warm times are
the median of --repeat calls after one warm-up call.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

from smpqa import synth
from smpqa.analysis import analyze
from smpqa.detect import detect_dots
from smpqa.frame import FRAME_MARGIN_KEY
from smpqa.metrics.hairline import measure_hairline
from smpqa.metrics.uniformity import measure_uniformity
from smpqa.region import Grid, median_spacing_mm, treated_region

SIZES = {k: synth.PHOTO_SIZES[k] for k in ("tiny", "3mp", "12mp")}


def _median_time(func, repeat):
    func()  # warm-up: numba caches load, memory is touched once
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        func()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_preset(name, size, seed, repeat):
    """Warm times (s) of each stage for one simulated photo."""
    w, h = SIZES[size]
    photo = synth.render(synth.preset(name, width_px=w, height_px=h, seed=seed))
    rgb, ppm = photo.image, photo.scene.px_per_mm
    dots = detect_dots(rgb, px_per_mm=ppm)
    x, y = dots["x"], dots["y"]
    grid = Grid.for_image(rgb.shape[:2], ppm, margin_px=dots.meta[FRAME_MARGIN_KEY])
    spacing = median_spacing_mm(x, y, ppm)
    treated = treated_region(grid, x, y, spacing_mm=spacing)
    hair = measure_hairline(x, y, grid, treated)
    interior = treated & ~hair.band if hair.found else treated
    row = {
        "preset": name, "size": f"{w}x{h}", "n_dots": len(dots),
        "detect_s": _median_time(lambda: detect_dots(rgb, px_per_mm=ppm), repeat),
        "regions_s": _median_time(lambda: treated_region(grid, x, y, spacing_mm=spacing),
                                  repeat),
        "hairline_s": _median_time(lambda: measure_hairline(x, y, grid, treated), repeat),
        "uniformity_s": _median_time(
            lambda: measure_uniformity(x, y, dots["diameter_px"], grid, interior), repeat),
        "analyze_s": _median_time(lambda: analyze(rgb, px_per_mm=ppm), repeat),
    }
    row["other_s"] = max(row["analyze_s"] - sum(row[k] for k in (
        "detect_s", "regions_s", "hairline_s", "uniformity_s")), 0.0)
    return row


def format_table(rows):
    cols = ["preset", "size", "n_dots", "detect_s", "regions_s", "hairline_s", "uniformity_s",
            "other_s", "analyze_s"]
    lines = [" | ".join(cols), " | ".join("---" for _ in cols)]
    for r in rows:
        lines.append(" | ".join(f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c])
                                for c in cols))
    return "\n".join(lines)


def machine_info():
    import numba

    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "cpus": os.cpu_count(), "numpy": np.__version__, "numba": numba.__version__,
            "numba_threads": numba.get_num_threads(),
            "date": datetime.date.today().isoformat()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=list(SIZES), default="3mp")
    ap.add_argument("--preset", action="append", help="preset (repeatable; default good_light)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="write the rows and machine info here")
    args = ap.parse_args(argv)
    rows = [bench_preset(p, args.size, args.seed, args.repeat)
            for p in (args.preset or ["good_light"])]
    print(format_table(rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"machine": machine_info(), "rows": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
