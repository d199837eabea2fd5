"""A researcher's benchmark: smpqa's dot detector against a simple baseline, on simulated photos.

For each preset and seed, the simulator renders a photo with the exact position and size of
every pigment dot. Two detectors run on it:

- ``smpqa``: ``smpqa.detect_dots`` with its defaults, given only the scale;
- ``blob_log``: a baseline anyone could write, scikit-image's Laplacian-of-Gaussian blob finder
  on the inverted grey image (skipped, with a note, when scikit-image is not installed).

Both are matched to the truth with ``smpqa.match.match_dots``, leaving out dots within 1 mm of
the frame's edge (a dot cut by the edge has no fair answer). The script prints precision,
recall, F1 and the diameter error per preset and method, pooled over the seeds, and writes one
CSV row per photo and method.

Run::

    python examples/benchmark_detector.py
    python examples/benchmark_detector.py --presets good_light,blowout --seeds 0,1,2 --size 3mp
    python examples/benchmark_detector.py --presets good_light --seeds 0 --size tiny --out b.csv

For timings and more peer detectors see ``benchmarks/bench_detect.py``; this script is about
accuracy, and short enough to copy and extend with a detector of your own (add it to METHODS).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np

import smpqa
from smpqa import synth
from smpqa.match import match_dots
from smpqa.research.dataset import parse_size
from smpqa.synth import PHOTO_SIZES

SIZES = {"tiny": (400, 300), "small": (1200, 900), "3mp": (2000, 1500)}
DEFAULT_PRESETS = "good_light,good_stubble,oversized,blowout,merged"
DIAMETER_RANGE_MM = (0.15, 1.5)  # the dot sizes any detector here should look for



# --- the detectors: (rgb uint8 image, px_per_mm) -> (x, y, diameter_px) ----------------------


def _size(text: str) -> tuple[int, int]:
    """--size: a name of smpqa.synth.PHOTO_SIZES or WIDTHxHEIGHT."""
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def detect_smpqa(rgb, px_per_mm):
    dots = smpqa.detect_dots(rgb, px_per_mm=px_per_mm)
    return dots["x"], dots["y"], dots["diameter_px"]


def detect_blob_log(rgb, px_per_mm):
    from skimage.color import rgb2gray
    from skimage.feature import blob_log

    # Dots are dark on skin; blob_log looks for bright blobs, so invert the grey image.
    img = 1.0 - rgb2gray(rgb)
    # A disc of radius r responds most at sigma = r / sqrt(2): search the expected dot sizes.
    lo, hi = (d * px_per_mm / (2 * math.sqrt(2)) for d in DIAMETER_RANGE_MM)
    # threshold 0.1 of the scale-normalised response: skimage's default 0.2 misses faint dots.
    blobs = blob_log(img, min_sigma=lo, max_sigma=hi, num_sigma=10, threshold=0.1)
    return blobs[:, 1], blobs[:, 0], 2 * math.sqrt(2) * blobs[:, 2]


# name -> (function, module it needs)
METHODS = {"smpqa": (detect_smpqa, "smpqa"), "blob_log": (detect_blob_log, "skimage")}


def available_methods() -> list[str]:
    ok = []
    for name, (_, module) in METHODS.items():
        if importlib.util.find_spec(module) is None:
            print(f"note: {name} skipped ({module} is not installed)")
        else:
            ok.append(name)
    return ok


# --- scoring ------------------------------------------------------------------------------


def score_photo(photo, method):
    """Match one method's detections on one photo to the truth."""
    detect = METHODS[method][0]
    ppm = photo.scene.px_per_mm
    x, y, d = detect(photo.image, ppm)
    t = photo.dots
    return match_dots(x, y, t["x"], t["y"], t["diameter_px"], pred_diameter_px=d,
                      shape=photo.image.shape[:2], border_px=1.0 * ppm)  # border = 1 mm


def pooled(scores) -> dict:
    """Scores of several photos pooled: counts summed, diameter errors over all matched pairs.

    Pooling the counts (rather than averaging each photo's F1) weighs every dot equally.
    """
    tp = sum(s.tp for s in scores)
    fp = sum(s.fp for s in scores)
    fn = sum(s.fn for s in scores)
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    rel = np.concatenate([s.diameter_rel_error for s in scores])
    return {"tp": tp, "fp": fp, "fn": fn, "precision": prec, "recall": rec,
            "f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0,
            # median |error| says how far off a diameter is; the signed median, which way
            "diam_abs_err": float(np.median(np.abs(rel))) if rel.size else math.nan,
            "diam_bias": float(np.median(rel)) if rel.size else math.nan}


def print_table(rows) -> None:
    cols = [("preset", "{}"), ("method", "{}"), ("precision", "{:.3f}"), ("recall", "{:.3f}"),
            ("f1", "{:.3f}"), ("diam_abs_err", "{:.3f}"), ("diam_bias", "{:+.3f}")]
    cells = [[c for c, _ in cols]] + [[f.format(r[c]) for c, f in cols] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cols))]
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", default=DEFAULT_PRESETS,
                    help=f"comma-separated simulator presets (default: {DEFAULT_PRESETS})")
    ap.add_argument("--seeds", default="0,1", help="comma-separated scene seeds (default: 0,1)")
    ap.add_argument("--size", type=_size, default="small",
                    help=f"photo size: {', '.join(PHOTO_SIZES)} or WxH (default small = 1200x900)")
    ap.add_argument("--out", type=Path, default=Path("benchmark_detector.csv"),
                    help="CSV with one row per photo and method (default: benchmark_detector.csv)")
    args = ap.parse_args(argv)
    args.presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    if not args.presets:
        ap.error("--presets needs at least one preset")
    unknown = [p for p in args.presets if p not in synth.PRESETS]
    if unknown:
        ap.error(f"unknown preset(s) {', '.join(unknown)}; known: {', '.join(synth.PRESETS)}")
    try:
        args.seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        ap.error(f"--seeds must be comma-separated integers, got {args.seeds!r}")
    if not args.seeds:
        ap.error("--seeds needs at least one seed")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    methods = available_methods()
    w, h = args.size
    per_photo, summary = [], []
    for preset in args.presets:
        scores = {m: [] for m in methods}
        for seed in args.seeds:
            photo = synth.render(synth.preset(preset, width_px=w, height_px=h, seed=seed))
            for m in methods:
                s = score_photo(photo, m)
                scores[m].append(s)
                per_photo.append({"preset": preset, "seed": seed, "method": m,
                                  "n_true": len(photo.dots["x"]), **pooled([s])})
        summary += [{"preset": preset, "method": m, **pooled(scores[m])} for m in methods]
        print(f"  {preset}: done", file=sys.stderr, flush=True)

    print(f"\n{len(args.seeds)} seed(s) per preset, {w}x{h} px; scores pooled over the seeds; "
          f"diameter errors relative to the true diameter\n")
    print_table(summary)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(per_photo[0]))
        writer.writeheader()
        writer.writerows(per_photo)
    print(f"\nper-photo scores: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
