"""Each criterion's main metric across every simulator preset, against the default thresholds.

A notebook-style script: the cells (``# %%``) run one after another as a plain script, or one by
one in VS Code, Spyder or Jupyter (via jupytext). It

1. renders every preset of ``smpqa.synth`` (small photos) and analyses each with
   ``smpqa.analyze``, printing a table of the main metric and verdict per criterion;
2. plots each criterion's main metric across the presets on the default profile's pass / warn /
   fail bands (``OUT/metrics_across_presets.png``);
3. sweeps the true dot diameter and plots the measured median diameter as it crosses the size
   thresholds (``OUT/size_sweep.png``), printing where it crosses each one.

Run::

    python examples/metrics_across_presets.py --out figures
    python examples/metrics_across_presets.py --size tiny --sweep-points 3 --out figures

On tiny photos (20 x 15 mm at 20 px/mm) there is too little scalp for some metrics (the
hairline is rarely found): use them to try the script, not to read the results.
"""

# %%
import argparse
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # a bare Figure renders with Agg: no GUI, no pyplot state
from matplotlib.patches import Patch

import smpqa
from smpqa import synth
from smpqa.profile import CRITERIA

# The one metric that stands for each criterion in the plots (docs/metrics.md lists the rest).
MAIN_METRIC = {
    "size": "median_diameter_mm",
    "darkness": "depth",
    "colour": "cast_delta_e",
    "uniformity": "tile_vmr",
    "hairline": "width_mm",
    "blowout": "blowout_share",
}
STATUS_COLOUR = {"pass": "#2e7d32", "warn": "#ef8f00", "fail": "#c62828",
                 "not_applicable": "#9e9e9e"}
BAND_COLOUR = {"pass": "#d4f7d4", "warn": "#ffe9b3", "fail": "#ffd6d6"}

# %% Options (parse_known_args: a notebook kernel passes arguments of its own)
ap = argparse.ArgumentParser(description=__doc__,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--out", type=Path, default=Path("figures"), help="folder for the PNGs")
ap.add_argument("--size", choices=list(synth.PHOTO_SIZES), default="small",
                help="photo size, one of smpqa.synth.PHOTO_SIZES (default small = 1200x900)")
ap.add_argument("--seed", type=int, default=1, help="scene seed of every photo (default 1)")
ap.add_argument("--sweep-points", type=int, default=7,
                help="dot diameters in the size sweep, 0.3 to 0.9 mm (default 7)")
args, _ = ap.parse_known_args()
if args.sweep_points < 2:
    ap.error("--sweep-points must be at least 2")
args.out.mkdir(parents=True, exist_ok=True)
width_px, height_px = synth.PHOTO_SIZES[args.size]
profile = smpqa.Profile.default()

# %% Render and analyse every preset
results = []
for name, (_, expected_fails, _) in synth.PRESETS.items():
    scene = synth.preset(name, width_px=width_px, height_px=height_px, seed=args.seed)
    photo = synth.render(scene)
    # Left/right asymmetry is judged only for a front view, so say so for the lopsided preset.
    view = "front" if scene.hairline.asymmetry_mm else None
    a = smpqa.analyze(photo.image, px_per_mm=scene.px_per_mm, view=view)
    results.append({
        "preset": name,
        "expected": ", ".join(expected_fails) or "-",
        "value": {c: a.metrics[c].get(MAIN_METRIC[c]) for c in CRITERIA},
        "status": {c: a.verdicts[c].status for c in CRITERIA},
    })


def own_status(criterion, value, verdict):
    """The main metric's own status against its limits (the verdict may come from another)."""
    limit = profile.limits(criterion).get(MAIN_METRIC[criterion])
    if verdict == "not_applicable" or value is None or limit is None:
        return "not_applicable"
    return limit.status(value)


def cell(criterion, value, verdict):
    """'0.31 pass'; '-' when not measured; '*' when another metric set the verdict."""
    shown = "-" if value is None else f"{value:.2f}"
    mark = "*" if own_status(criterion, value, verdict) not in (verdict, "not_applicable") else ""
    return f"{shown} {'n/a' if verdict == 'not_applicable' else verdict}{mark}"


print(f"Main metric and verdict per criterion ({width_px}x{height_px} px, seed {args.seed}):")
for c in CRITERIA:
    print(f"  {c}: {MAIN_METRIC[c]}")
header = ["preset", *CRITERIA, "expected to fail"]
lines = [header] + [[r["preset"], *(cell(c, r["value"][c], r["status"][c]) for c in CRITERIA),
                     r["expected"]] for r in results]
widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
for line in lines:
    print("  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip())
print("* the criterion's verdict comes from another of its metrics (e.g. the spread of sizes)")


# %% Helpers: the pass / warn / fail bands of a limit


def bands(limit, lo, hi):
    """(start, end, status) intervals covering [lo, hi] for a profile Limit."""
    p, w = limit.pass_, limit.warn
    if limit.kind == "upper":
        return [(lo, p, "pass"), (p, w, "warn"), (w, hi, "fail")]
    if limit.kind == "lower":
        return [(lo, w, "fail"), (w, p, "warn"), (p, hi, "pass")]
    return [(lo, w[0], "fail"), (w[0], p[0], "warn"), (p[0], p[1], "pass"),
            (p[1], w[1], "warn"), (w[1], hi, "fail")]


def axis_range(values, limit):
    """A range from 0 that shows every value and every threshold, with some room."""
    nums = [v for v in values if v is not None and np.isfinite(v)]
    if limit is not None:
        nums += list(np.ravel([limit.pass_, limit.warn]))
    hi = max(nums) if nums else 1.0
    return min(0.0, *nums) if nums else 0.0, 1.15 * hi


def shade(span, limit, lo, hi):
    """Colour the bands with ``ax.axvspan`` or ``ax.axhspan`` (whichever ``span`` is)."""
    for start, end, status in bands(limit, lo, hi):
        if end > start:
            span(start, end, color=BAND_COLOUR[status], zorder=0)


band_legend = [Patch(color=BAND_COLOUR[s], label=f"{s} band") for s in BAND_COLOUR]

# %% Plot: each criterion's main metric across the presets
names = [r["preset"] for r in results]
ypos = np.arange(len(names))
fig = Figure(figsize=(15, 9), layout="constrained")
axes = fig.subplots(2, 3, sharey=True)
for ax, c in zip(axes.flat, CRITERIA):
    metric = MAIN_METRIC[c]
    limit = profile.limits(c).get(metric)
    values = [r["value"][c] for r in results]
    lo, hi = axis_range(values, limit)
    if limit is not None:
        shade(ax.axvspan, limit, lo, hi)
    for y, r in zip(ypos, results):
        v, status = r["value"][c], r["status"][c]
        if v is None:  # not measured (e.g. no hairline in the frame): say so instead of a dot
            ax.text(lo + 0.01 * (hi - lo), y, "not measured", va="center", fontsize=7,
                    color=STATUS_COLOUR["not_applicable"])
        else:
            # Coloured by the metric's own status, so a dot always matches the band it sits in.
            own = own_status(c, v, status)
            ax.plot(v, y, "o", color=STATUS_COLOUR[own], markersize=6)
            if own not in (status, "not_applicable"):
                ax.annotate(f"criterion: {status}", (v, y), xytext=(5, 0),
                            textcoords="offset points", va="center", fontsize=7,
                            color=STATUS_COLOUR[status])
    ax.set_xlim(lo, hi)
    ax.set_title(f"{c}: {metric}")
    ax.grid(axis="y", color="white", linewidth=0.5)
    ax.tick_params(axis="y", labelsize=8)
axes[0, 0].set_yticks(ypos, names)
axes[0, 0].invert_yaxis()  # presets in their usual order, good work at the top
dots_legend = [Patch(color=STATUS_COLOUR[s], label=f"metric {s}") for s in ("pass", "warn", "fail")]
fig.legend(handles=band_legend + dots_legend, loc="outside lower center", ncols=6)
fig.suptitle(f"Main metric per criterion across the simulator presets "
             f"({width_px}x{height_px} px), on the default profile's bands")
presets_png = args.out / "metrics_across_presets.png"
fig.savefig(presets_png, dpi=110)
print(f"\nwrote {presets_png}")

# %% Sweep: the true dot diameter, and the measured median crossing the size thresholds
diameters = np.linspace(0.3, 0.9, args.sweep_points)
size_limit = profile.limits("size")["median_diameter_mm"]
sweep = []
for d in diameters:
    # Even work on medium skin, at the oversized preset's density so large dots do not touch.
    scene = synth.preset("good_medium", dot_diameter_mm=float(d), density_per_cm2=40.0,
                         width_px=width_px, height_px=height_px, seed=args.seed)
    a = smpqa.analyze(synth.render(scene).image, px_per_mm=scene.px_per_mm)
    sweep.append((float(d), a.metrics["size"]["median_diameter_mm"], a.verdicts["size"].status))

print("\nSize sweep (true median dot diameter -> measured median, verdict):")
for d, m, status in sweep:
    print(f"  {d:.2f} mm -> {'-' if m is None else f'{m:.3f} mm'}  {status}")


def crossing(points, threshold):
    """True diameter where the measured median first rises above a threshold (interpolated)."""
    pts = [(d, m) for d, m, _ in points if m is not None]
    for (d0, m0), (d1, m1) in zip(pts, pts[1:]):
        if m0 <= threshold < m1:
            return d0 + (threshold - m0) * (d1 - d0) / (m1 - m0)
    return None


crossings = {}
for which, threshold in (("pass", size_limit.pass_), ("warn", size_limit.warn)):
    crossings[which] = crossing(sweep, threshold)
    at = crossings[which]
    print(f"  measured median leaves the {which} band ({threshold:.2f} mm) "
          + (f"at a true diameter of about {at:.2f} mm" if at else "nowhere in this sweep"))

# %% Plot the sweep
fig = Figure(figsize=(7, 5), layout="constrained")
ax = fig.subplots()
measured = [m for _, m, _ in sweep]
lo, hi = axis_range(measured + list(diameters), size_limit)
shade(ax.axhspan, size_limit, lo, hi)
ax.plot([lo, hi], [lo, hi], ":", color="grey", label="measured = true")
ax.plot(diameters, [np.nan if m is None else m for m in measured], "-", color="black",
        linewidth=1)
for d, m, status in sweep:
    if m is not None:
        ax.plot(d, m, "o", color=STATUS_COLOUR[status], markersize=7)
for which, at in crossings.items():
    if at:
        ax.axvline(at, color="black", linewidth=0.8, linestyle="--")
        ax.text(at, lo + 0.02 * (hi - lo), f" leaves {which}\n ≈ {at:.2f} mm", fontsize=8)
ax.set_xlim(min(diameters) - 0.05, max(diameters) + 0.05)
ax.set_ylim(lo, hi)
ax.set_xlabel("true median dot diameter (mm)")
ax.set_ylabel("measured median_diameter_mm (mm)")
ax.set_title("Size verdict as the dots grow (good_medium, 40 dots/cm²)")
ax.legend(handles=band_legend + ax.get_legend_handles_labels()[0], loc="upper left")
sweep_png = args.out / "size_sweep.png"
fig.savefig(sweep_png, dpi=110)
print(f"\nwrote {sweep_png}")
