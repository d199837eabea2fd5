"""Write a simulated photo with its truth files (formats fixed in docs/contracts)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

__all__ = ["write", "truth_paths"]


def truth_paths(photo_path) -> tuple[Path, Path]:
    """The ``.truth.csv`` and ``.truth.json`` paths that go with a photo path."""
    p = Path(photo_path)
    stem = p.with_suffix("")
    return stem.with_name(stem.name + ".truth.csv"), stem.with_name(stem.name + ".truth.json")


def write(photo, path) -> dict:
    """Write ``photo.png`` (scale in its metadata), ``photo.truth.csv`` and ``photo.truth.json``.

    Parameters
    ----------
    photo : SynthPhoto
    path : str or os.PathLike
        Where the PNG goes; its suffix must be ``.png``.

    Returns
    -------
    dict
        The three paths written, keyed ``image``, ``truth_csv``, ``truth_json``.
    """
    from ..io import save_png, write_text_atomic  # io needs Pillow; keep synth's import light

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"simulated photos are written as PNG; got {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_png(path, photo.image, px_per_mm=photo.scene.px_per_mm)
    csv_path, json_path = truth_paths(path)
    d = photo.dots

    def _csv(fh):
        w = csv.writer(fh)
        w.writerow(["x", "y", "diameter_px", "kind", "opacity"])
        for row in zip(d["x"], d["y"], d["diameter_px"], d["kind"], d["opacity"]):
            w.writerow([f"{row[0]:.3f}", f"{row[1]:.3f}", f"{row[2]:.3f}", row[3], f"{row[4]:.4f}"])

    def _json(fh):
        json.dump({"image": path.name, "scene": photo.scene.to_dict(), "truth": photo.truth},
                  fh, indent=1)

    for target, fill in ((csv_path, _csv), (json_path, _json)):
        buf = io.StringIO(newline="")
        fill(buf)
        write_text_atomic(target, buf.getvalue())
    return {"image": path, "truth_csv": csv_path, "truth_json": json_path}
