"""How accurately smpqa sizes dots, by scale, JPEG quality and skin tone.

Renders simulated photos of good work (exact truth; see docs/simulator.md) of
one field of scalp at each scale, saved losslessly or as JPEG at each quality,
and prints one row per (preset, px/mm, JPEG quality): the true dots' median
diameter in px, recall, and the diameter errors of the matched dots (contract
rule, 1 mm border left out), twice: with the blur read from the dots, as
``detect_dots`` does by default, and with the simulator's true blur given
(``DetectParams(blur_px=...)``), which separates the blur reading's share of
the error from the size estimate's own::

    python benchmarks/bench_size.py --json size.json                 # ~2 minutes
    python benchmarks/bench_size.py --preset good_dark --ppm 10 --jpeg none,92

Columns: ``abs err px`` is the median absolute diameter error in px, ``bias %``
the median signed relative error ((found - true) / true), ``abs err %`` the
median absolute relative error; ``(true blur)`` the same with the blur given;
``depth bias %`` the median relative error of the matched dots' depth (the
darkness criterion's measure) against the simulated pigment's; ``cast ΔE`` the
colour criterion's pooled cast (:mod:`smpqa.metrics.colour`) of each photo,
whose pigment is neutral (good work passes up to 1.5, fails above 3).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from bench_analyze import machine_info

from smpqa import synth
from smpqa.detect import DetectParams, detect_dots
from smpqa.match import match_dots
from smpqa.metrics.colour import measure_colour

DEFAULT_PRESETS = ("good_light", "good_medium", "good_dark")
DEFAULT_PPM = (8.0, 10.0, 12.0, 15.0, 20.0, 30.0)
DEFAULT_JPEG = (None, 95, 92, 85, 75)  # None: saved losslessly


def _jpeg_list(text):
    """``"none,92,75"`` -> [None, 92, 75]."""
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        if part in ("none", "lossless"):
            out.append(None)
            continue
        try:
            q = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"JPEG quality {part!r}: give 1..100 or 'none'") from None
        if not 1 <= q <= 100:
            raise argparse.ArgumentTypeError(f"JPEG quality {q} is outside 1..100")
        out.append(q)
    return out


def _listed(kind, what, ok, rule):
    """An argparse type: comma-separated ``kind`` values, each passing ``ok`` (else ``rule``)."""
    def parse(text):
        try:
            vals = [kind(v) for v in text.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: give {what} separated by commas") from None
        if not all(ok(v) for v in vals):
            raise argparse.ArgumentTypeError(f"{text!r}: {rule}")
        return vals
    return parse


_float_list = _listed(float, "numbers", lambda v: v > 0, "every scale must be positive")
_seed_list = _listed(int, "integers", lambda v: v >= 0, "seeds must be >= 0")


def _field(text):
    try:
        w, h = (float(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"field {text!r}: give WxH in mm, e.g. 40x30") from None
    if not (w > 0 and h > 0):
        raise argparse.ArgumentTypeError(f"field {text!r}: both sides must be positive")
    return w, h


def _errors(dots, truth, shape, border_px):
    s = match_dots(dots["x"], dots["y"], truth["x"], truth["y"], truth["diameter_px"],
                   pred_diameter_px=dots["diameter_px"], shape=shape, border_px=border_px)
    return s, s.diameter_rel_error, s.diameter_abs_error_px


def measure_cell(name, ppm, quality, seeds, field_mm, noise=None):
    """Pooled diameter errors over ``seeds`` for one preset, scale and JPEG quality.

    ``noise`` (8-bit levels) replaces the preset's sensor noise when given.
    """
    w, h = (max(16, round(v * ppm)) for v in field_mm)
    rel, px, rel_t, px_t, blur_read, depth, cast = [], [], [], [], [], [], []
    tp = fn = 0
    true_d = []
    for seed in seeds:
        scene = synth.preset(name, width_px=w, height_px=h, px_per_mm=ppm, seed=seed,
                             clutter={"jpeg_quality": quality,
                                      **({} if noise is None else {"noise": noise})})
        photo = synth.render(scene)
        truth, shape = photo.dots, photo.image.shape[:2]
        dots = detect_dots(photo.image, px_per_mm=ppm)
        s, r, a = _errors(dots, truth, shape, ppm)
        tp, fn = tp + s.tp, fn + s.fn
        rel.append(r)
        px.append(a)
        blur_read.append(dots.meta["blur_px"])
        true_d.append(np.asarray(truth["diameter_px"])[s.pairs[:, 1]])
        depth.append(np.asarray(dots["depth"])[s.pairs[:, 0]] / photo.truth["depth"] - 1)
        lab = {k: np.stack([dots[f"{k}_{c}"] for c in "Lab"], 1) for k in ("skin", "core")}
        cast.append(measure_colour(lab["skin"], lab["core"], dots["area_px"]).cast_delta_e)
        given = detect_dots(photo.image, px_per_mm=ppm,
                            params=DetectParams(blur_px=scene.clutter.blur_px))
        _, r, a = _errors(given, truth, shape, ppm)
        rel_t.append(r)
        px_t.append(a)
    rel, px, rel_t, px_t, depth = (np.concatenate(v) for v in (rel, px, rel_t, px_t, depth))

    def med(v, absolute=False):
        v = np.abs(v) if absolute else v
        return float(np.median(v)) if v.size else float("nan")

    return {
        "preset": name, "px_per_mm": ppm, "jpeg_quality": quality, "size": f"{w}x{h}",
        "noise": float(scene.clutter.noise),
        "seeds": list(seeds), "n_matched": int(rel.size),
        "recall": tp / (tp + fn) if tp + fn else float("nan"),
        "true_diameter_px": med(np.concatenate(true_d)),
        "blur_read_px": float(np.mean(blur_read)), "blur_true_px": float(scene.clutter.blur_px),
        "abs_error_px": med(px, True), "bias_rel": med(rel), "abs_error_rel": med(rel, True),
        "abs_error_px_true_blur": med(px_t, True), "bias_rel_true_blur": med(rel_t),
        "abs_error_rel_true_blur": med(rel_t, True), "depth_bias_rel": med(depth),
        "cast_delta_e": [None if c is None else round(c, 3) for c in cast],
    }


_COLUMNS = (("preset", "preset", "{}"), ("px_per_mm", "px/mm", "{:g}"),
            ("jpeg_quality", "JPEG", "{}"), ("true_diameter_px", "dot px", "{:.1f}"),
            ("recall", "recall", "{:.3f}"), ("blur_read_px", "blur read", "{:.2f}"),
            ("abs_error_px", "abs err px", "{:.3f}"), ("bias_rel", "bias %", "{:+.1%}"),
            ("abs_error_rel", "abs err %", "{:.1%}"),
            ("abs_error_px_true_blur", "abs err px (true blur)", "{:.3f}"),
            ("bias_rel_true_blur", "bias % (true blur)", "{:+.1%}"),
            ("depth_bias_rel", "depth bias %", "{:+.1%}"), ("cast_delta_e", "cast ΔE", None))


def format_table(rows):
    """The rows as one Markdown table (``%`` columns without the sign)."""
    head = [c[1] for c in _COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = []
        for key, _, fmt in _COLUMNS:
            v = r[key]
            if key == "jpeg_quality":
                cells.append("lossless" if v is None else str(v))
            elif key == "cast_delta_e":  # one per seed
                cells.append(", ".join("n/a" if c is None else f"{c:.1f}" for c in v))
            else:
                cells.append(fmt.format(v).replace("%", ""))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", action="append", choices=synth.preset_names(),
                    help=f"preset (repeatable; default {', '.join(DEFAULT_PRESETS)})")
    ap.add_argument("--ppm", type=_float_list, default=list(DEFAULT_PPM),
                    help="scales, px/mm, comma-separated (default 8,10,12,15,20,30)")
    ap.add_argument("--jpeg", type=_jpeg_list, default=list(DEFAULT_JPEG),
                    help="JPEG qualities, comma-separated; 'none' saves losslessly "
                         "(default none,95,92,85,75)")
    ap.add_argument("--seeds", type=_seed_list, default=[1, 2],
                    help="scene seeds, comma-separated (default 1,2)")
    ap.add_argument("--field-mm", type=_field, default=(40.0, 30.0),
                    help="the photographed field of scalp, WxH mm (default 40x30)")
    ap.add_argument("--noise", type=float, help="sensor noise in 8-bit levels for every photo "
                    "(default: each preset's, 1.5)")
    ap.add_argument("--json", help="write the rows and machine info here")
    args = ap.parse_args(argv)
    if args.noise is not None and not args.noise >= 0:
        ap.error(f"--noise must be >= 0, got {args.noise}")
    rows = []
    for name in args.preset or DEFAULT_PRESETS:
        for ppm in args.ppm:
            for q in args.jpeg:
                rows.append(measure_cell(name, ppm, q, args.seeds, args.field_mm, args.noise))
                print(format_table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(format_table(rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"machine": machine_info(), "field_mm": list(args.field_mm),
                       "rows": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
