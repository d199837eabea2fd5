"""Peak memory of smpqa.analyze on a simulated photo, as a multiple of the RGB image's bytes.

Each measured call runs in a fresh ``multiprocessing`` *spawn* child, which

1. imports smpqa and warms it up on a 256 x 256 crop (numba caches loaded),
2. loads its input (the RGB array from ``.npy``; nothing for a file path),
3. resets the kernel's peak-RSS mark (``echo 5 > /proc/self/clear_refs``) and
   notes the RSS,
4. makes one call and reads the peak (``VmHWM`` from ``/proc/self/status``).

The working memory of the call is the peak minus the RSS before it; the table
gives it in MB and as a multiple of the image's RGB bytes (H x W x 3). Where
the mark cannot be reset (not Linux, or a locked-down /proc), ``ru_maxrss``
is used and the increase is a lower bound (the mark may predate the call).

The target is a peak working memory under 16 x the RGB bytes; the script
reports the numbers and whether the target is met, and always exits 0.

Examples
--------
    python benchmarks/bench_memory.py --size 12mp
    python benchmarks/bench_memory.py --size 3mp --json memory.json
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import multiprocessing
import os
import platform
import resource
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

SIZES = {"tiny": (400, 300), "3mp": (2000, 1500), "12mp": (4000, 3000)}
TARGET_X = 16.0
MB = 2**20

# The measured calls: label -> (function, what it is given).
CALLS = {
    "analyze(array)": ("analyze", "array"),
    "analyze(png path)": ("analyze", "png"),
    "detect_dots(array)": ("detect_dots", "array"),
}


# --- in the child ------------------------------------------------------------------------------


def _reset_peak() -> str:
    """Reset the peak-RSS mark; returns the peak's source, "VmHWM" or "ru_maxrss"."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return "VmHWM"
    except OSError:
        return "ru_maxrss"


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _rss_mb() -> float:
    kb = _status_kb("VmRSS")
    if kb is not None:
        return kb / 1024
    return _maxrss_mb()  # no /proc: the best available stand-in


def _maxrss_mb() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / MB if sys.platform == "darwin" else r / 1024  # bytes on macOS, else KiB


def _peak_mb(source: str) -> float:
    kb = _status_kb("VmHWM") if source == "VmHWM" else None
    return kb / 1024 if kb is not None else _maxrss_mb()


def measure_in_child(func_name: str, source: str, npy: str, png: str, ppm: float) -> dict:
    """One call's peak memory; meant for a fresh spawn process (see the module notes)."""
    import smpqa

    func = getattr(smpqa, func_name)
    rgb = np.load(npy)
    func(np.ascontiguousarray(rgb[:256, :256]), px_per_mm=ppm)  # warm-up: code and caches
    arg = rgb if source == "array" else png
    if source != "array":
        del rgb  # a path call starts from nothing but the file
    peak_source = _reset_peak()
    before = _rss_mb()
    func(arg, px_per_mm=ppm)
    peak = _peak_mb(peak_source)
    return {"rss_before_mb": before, "peak_mb": peak, "increase_mb": max(peak - before, 0.0),
            "rss_source": peak_source}


# --- in the parent -----------------------------------------------------------------------------


def _render(size: str, preset: str, seed: int, folder: Path) -> tuple[str, str, float, tuple]:
    """Simulate the photo; write it as .npy (for arrays) and PNG (for paths)."""
    from smpqa import synth

    w, h = SIZES[size]
    photo = synth.render(synth.preset(preset, width_px=w, height_px=h, seed=seed))
    npy, png = folder / "photo.npy", folder / "photo.png"
    np.save(npy, photo.image)
    photo.write(png)
    return str(npy), str(png), photo.scene.px_per_mm, photo.image.shape


def run(size: str, preset: str, seed: int) -> dict:
    """Measure every call of :data:`CALLS` in its own spawn child; returns the report."""
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="smpqa-bench-memory-") as tmp:
        npy, png, ppm, shape = _render(size, preset, seed, Path(tmp))
        rgb_bytes = int(np.prod(shape))
        rows = []
        for label, (func, source) in CALLS.items():
            with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
                r = pool.submit(measure_in_child, func, source, npy, png, ppm).result()
            r.update(call=label, x_rgb=r["increase_mb"] * MB / rgb_bytes,
                     peak_x_rgb=r["peak_mb"] * MB / rgb_bytes)
            rows.append(r)
    worst = max(r["x_rgb"] for r in rows if r["call"].startswith("analyze"))
    return {"size": size, "preset": preset, "seed": seed, "width": shape[1], "height": shape[0],
            "rgb_bytes": rgb_bytes, "rgb_mb": rgb_bytes / MB, "px_per_mm": ppm, "rows": rows,
            "target_x": TARGET_X, "worst_analyze_x": worst, "target_met": worst < TARGET_X,
            "machine": _machine()}


def _machine() -> dict:
    import smpqa

    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpu_count": os.cpu_count(), "numpy_version": np.__version__,
            "smpqa_version": smpqa.__version__,
            "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds")}


def table(report: dict) -> str:
    """The report as a Markdown table with a one-line verdict."""
    lines = [f"{report['width']} x {report['height']} px ({report['preset']}): RGB image "
             f"{report['rgb_mb']:.1f} MB", "",
             "| call | RSS before MB | peak MB | increase MB | increase / RGB bytes | source |",
             "|---|---|---|---|---|---|"]
    for r in report["rows"]:
        lines.append(f"| {r['call']} | {r['rss_before_mb']:.0f} | {r['peak_mb']:.0f} | "
                     f"{r['increase_mb']:.0f} | {r['x_rgb']:.1f}x | {r['rss_source']} |")
    verdict = "met" if report["target_met"] else "NOT met"
    lines += ["", f"target: analyze below {report['target_x']:g}x the RGB bytes: {verdict} "
                  f"(worst {report['worst_analyze_x']:.1f}x)"]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", choices=list(SIZES), default="12mp",
                   help="photo size: 12mp = 4000x3000, 3mp = 2000x1500, tiny = 400x300")
    p.add_argument("--preset", default="good_light", help="simulator preset (default good_light)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="also write the report as JSON to this path")
    args = p.parse_args(argv)
    report = run(args.size, args.preset, args.seed)
    print(table(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
