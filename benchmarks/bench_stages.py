"""Where ``detect_dots`` spends its time: wall and CPU time per kernel, on a simulated photo.

Each numba kernel the detector calls (``smpqa.detect._kernels``, ``_hair``), the glare step
(``_glare.find_glare``) and the Python steps that take a share of their own (the noise
estimate, the colour conversion) is wrapped with a timer. The photo is detected
``--repeat`` times after a warm-up; the table gives each stage's median wall and CPU seconds
per call of ``detect_dots``, its share of the whole call's wall time, and how often it ran.
"(the rest)" is the whole call less the stages: NumPy and OpenCV glue between them.

Run it before and after changing a kernel, on the same photo, interleaving the two several
times: on the project's shared 2-core machine, whole calls of the same photo moved between
0.47 and 0.75 s within one process.

Examples
--------
    python benchmarks/bench_stages.py --size 12mp --preset good_stubble
    python benchmarks/bench_stages.py --size 3mp --preset good_light --repeat 9 --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_detect import SIZES, machine_info  # noqa: E402  (a sibling script)

# The stages timed, by module: what the pipeline calls from Python (kernels that other kernels
# call, such as _kernels.median, are left alone: compiled code holds them, not the module).
STAGES = {
    "smpqa.detect._kernels": ("block_percentile", "block_percentile_at", "darkening", "peaks",
                              "kept_seeds", "ray_radius", "neighbours", "measure", "halo_ratio",
                              "solve_radius", "solve_near_radius", "blur_ssr", "twin_split"),
    "smpqa.detect._hair": ("line_excess", "ridge_runs", "twin_erosion", "twin_profile"),
    "smpqa.detect._glare": ("find_glare",),
    "smpqa.detect.pipeline": ("_noise", "linear_to_lab", "frame_distance"),
}
_REST = "(the rest)"


def _wrapped(func, name, log):
    """``func`` timed into ``log[name]`` (wall s, CPU s, calls) while it runs."""
    def timed(*args, **kwargs):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return func(*args, **kwargs)
        finally:
            entry = log[name]
            entry[0] += time.perf_counter() - t0
            entry[1] += time.process_time() - c0
            entry[2] += 1
    return timed


def instrument(log):
    """Wrap the ``STAGES`` (module attributes the pipeline looks up at call time)."""
    import importlib

    for module, names in STAGES.items():
        mod = importlib.import_module(module)
        for name in names:
            setattr(mod, name, _wrapped(getattr(mod, name), name, log))


def measure_stages(image, px_per_mm, repeat):
    """Per-stage medians over ``repeat`` timed calls: (rows, whole wall s, whole CPU s)."""
    from smpqa import detect_dots

    detect_dots(image, px_per_mm=px_per_mm)  # every kernel compiled or loaded first
    log = defaultdict(lambda: [0.0, 0.0, 0])
    instrument(log)
    runs, whole = [], []
    for _ in range(repeat):
        log.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        detect_dots(image, px_per_mm=px_per_mm)
        whole.append((time.perf_counter() - t0, time.process_time() - c0))
        runs.append({k: tuple(v) for k, v in log.items()})
    wall = statistics.median(w for w, _ in whole)
    cpu = statistics.median(c for _, c in whole)
    rows = []
    for name in sorted({k for r in runs for k in r}):
        vals = [r.get(name, (0.0, 0.0, 0)) for r in runs]
        rows.append({"stage": name, "wall_s": statistics.median(v[0] for v in vals),
                     "cpu_s": statistics.median(v[1] for v in vals),
                     "calls": statistics.median(v[2] for v in vals)})
    rows.sort(key=lambda r: -r["wall_s"])
    rows.append({"stage": _REST, "wall_s": max(wall - sum(r["wall_s"] for r in rows), 0.0),
                 "cpu_s": max(cpu - sum(r["cpu_s"] for r in rows), 0.0), "calls": None})
    return rows, wall, cpu


def format_table(rows, wall):
    lines = ["| stage | wall ms | CPU ms | share | calls |", "|---|---|---|---|---|"]
    for r in rows:
        calls = "" if r["calls"] is None else f"{r['calls']:g}"
        lines.append(f"| {r['stage']} | {1e3 * r['wall_s']:.1f} | {1e3 * r['cpu_s']:.1f} | "
                     f"{r['wall_s'] / wall:.0%} | {calls} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=list(SIZES), default="3mp",
                    help="tiny = 400x300 (smoke tests), 3mp = 2000x1500, 12mp = 4000x3000")
    ap.add_argument("--preset", default="good_stubble",
                    help="simulator preset (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=7, help="timed calls (default: %(default)s)")
    ap.add_argument("--json", help="also write the numbers to this JSON file")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")

    from smpqa import synth

    w, h = SIZES[args.size]
    photo = synth.render(synth.preset(args.preset, width_px=w, height_px=h, seed=args.seed))
    rows, wall, cpu = measure_stages(photo.image, photo.scene.px_per_mm, args.repeat)
    print(f"detect_dots on {args.preset} ({w} x {h} px), median of {args.repeat}: "
          f"{wall:.3f} s wall, {cpu:.3f} s CPU")
    print(format_table(rows, wall))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"preset": args.preset, "size": args.size, "seed": args.seed,
                       "repeat": args.repeat, "wall_s": wall, "cpu_s": cpu, "stages": rows,
                       "machine": machine_info()}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
