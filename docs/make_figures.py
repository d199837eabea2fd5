"""Render every simulator preset into a picture for docs/simulator.md (and, for
docs/metrics.md, the audit overlay of a passing and a failing photo).

Each picture shows the whole simulated photo (downscaled) beside a 4x
enlargement of a 120 x 120 px area near its centre, upscaled with nearest
neighbours so single pixels, and the dots, stay sharp. A frame on the whole
photo marks where the enlargement comes from.

Usage::

    python docs/make_figures.py --out docs/img
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from smpqa import synth

WIDTH_PX, HEIGHT_PX = 600, 450  # rendered photo size
OVERVIEW_MAX_W = 480  # the whole photo is shown at most this wide
CROP = 120  # side of the enlarged area, px of the photo
ZOOM = 4
GAP = 12  # white space between the two panels
TITLE_H = 28  # white strip above the panels for the labels
MARK = (255, 40, 40)  # RGB colour of the crop frame


def _text(canvas: np.ndarray, text: str, x: int, y: int) -> None:
    cv2.putText(canvas, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)


def figure(name: str, seed: int = 1) -> np.ndarray:
    """The RGB uint8 picture of one preset: overview | 4x crop, with labels."""
    scene = synth.preset(name, width_px=WIDTH_PX, height_px=HEIGHT_PX, seed=seed)
    img = synth.render(scene).image
    h, w = img.shape[:2]

    scale = min(1.0, OVERVIEW_MAX_W / w)
    ow, oh = round(w * scale), round(h * scale)
    overview = cv2.resize(img, (ow, oh), interpolation=cv2.INTER_AREA) if scale < 1 else img.copy()
    # Sensor noise makes the overview compress poorly; dropping the lowest bit of each
    # channel (half a level, far below the noise) keeps every picture under ~250 KB.
    overview &= 0xFE

    x0, y0 = (w - CROP) // 2, (h - CROP) // 2
    crop = img[y0:y0 + CROP, x0:x0 + CROP]
    zoomed = cv2.resize(crop, (CROP * ZOOM, CROP * ZOOM), interpolation=cv2.INTER_NEAREST)

    # Frame the enlarged area on the overview.
    p0 = (round(x0 * scale), round(y0 * scale))
    p1 = (round((x0 + CROP) * scale) - 1, round((y0 + CROP) * scale) - 1)
    cv2.rectangle(overview, p0, p1, MARK, 1)

    ph = max(oh, zoomed.shape[0])
    canvas = np.full((TITLE_H + ph, ow + GAP + zoomed.shape[1], 3), 255, np.uint8)
    canvas[TITLE_H:TITLE_H + oh, :ow] = overview
    canvas[TITLE_H:TITLE_H + zoomed.shape[0], ow + GAP:] = zoomed
    mm_w, mm_h = scene.width_mm, scene.height_mm
    _text(canvas, f"{name}: {w}x{h} px, {mm_w:.0f}x{mm_h:.1f} mm at {scene.px_per_mm:g} px/mm",
          4, 19)
    _text(canvas, f"centre {CROP}x{CROP} px ({CROP / scene.px_per_mm:.1f} mm), {ZOOM}x",
          ow + GAP + 4, 19)
    return canvas


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="docs/img", help="output folder (default docs/img)")
    p.add_argument("--seed", type=int, default=1, help="random seed of every preset (default 1)")
    p.add_argument("--only", nargs="*", metavar="PRESET", help="render only these presets")
    args = p.parse_args(argv)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = args.only or synth.preset_names()
    total = 0
    for name in names:
        rgb = figure(name, seed=args.seed)
        path = out / f"preset_{name}.png"
        ok = cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                         [cv2.IMWRITE_PNG_COMPRESSION, 9])
        if not ok:
            print(f"cannot write {path}", file=sys.stderr)
            return 1
        size = path.stat().st_size
        total += size
        print(f"{path}  {size / 1024:.0f} KB")
    print(f"{len(names)} pictures, {total / 1024:.0f} KB in all")
    if not args.only:
        metric_figures(out, seed=args.seed)
    return 0


def metric_figures(out: Path, seed: int = 1) -> None:
    """The report's overlay of a passing (good_light) and a failing (botched) photo."""
    from smpqa import analyze
    from smpqa.report.plots import overlay_png

    for name, tag in (("good_light", "pass"), ("botched", "fail")):
        photo = synth.render(synth.preset(name, width_px=800, height_px=600, seed=seed))
        a = analyze(photo.image, px_per_mm=photo.scene.px_per_mm)
        path = out / f"metrics_{tag}.png"
        path.write_bytes(overlay_png(photo.image, a, max_px=800))
        print(f"{path}  grade {a.grade['status']}")


if __name__ == "__main__":
    sys.exit(main())
