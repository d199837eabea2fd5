"""Benchmark data sets of simulated photos: ``manifest.csv`` plus photos and their truth.

A data set folder holds, per photo, ``<preset>-<k>.png`` with the simulator's
``.truth.csv`` and ``.truth.json`` beside it, and one ``manifest.csv`` listing
every photo with its scene seed, scale, size, the verdict the preset should get
on each criterion, and the PNG's SHA-256.
"""

from __future__ import annotations

import atexit
import contextlib
import csv
import hashlib
import importlib.resources
import io
import re
import zlib
from pathlib import Path

import numpy as np

from .._sizes import PHOTO_SIZES
from ..errors import SmpqaError
from ..io import write_text_atomic
from ..profile import CRITERIA

__all__ = ["make_dataset", "read_manifest", "sample_dataset", "photo_seed", "expected_verdicts",
           "parse_size", "DatasetError", "SIZES", "MANIFEST", "MANIFEST_COLUMNS", "EXPECTED"]

#: Named photo sizes, (width, height) px; the same as ``smpqa synth --size``.
SIZES = PHOTO_SIZES  # the simulator's named photo sizes
#: File name of a data set's manifest.
MANIFEST = "manifest.csv"
#: Values of the ``expected_*`` columns.
EXPECTED = ("fail", "pass_or_warn", "not_applicable")
#: Columns of ``manifest.csv``, in order.
MANIFEST_COLUMNS = ("file", "preset", "seed", "px_per_mm", "width_px", "height_px",
                    *(f"expected_{c}" for c in CRITERIA), "sha256")
_WXH = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


class DatasetError(SmpqaError):
    """A data set cannot be made or read (bad options, missing or malformed manifest)."""


def photo_seed(seed: int, preset: str, k: int) -> int:
    """Scene seed of the k-th photo of a preset, derived from the data set's seed.

    Parameters
    ----------
    seed : int
        The data set's seed.
    preset : str
        The preset's name. Its CRC-32 stands for the preset, not its position
        in :data:`smpqa.synth.PRESETS`, so that adding a preset never changes
        the photos of the others.
    k : int
        Photo number within the preset.

    Returns
    -------
    int
        A seed in [0, 2**32), the same on every platform.
    """
    # SeedSequence mixes the numbers into well-separated streams, unlike seed + k.
    key = [seed, zlib.crc32(preset.encode("utf-8")), k]
    return int(np.random.SeedSequence(key).generate_state(1, dtype=np.uint32)[0])


def expected_verdicts(preset_name: str, scene) -> dict[str, str]:
    """Verdict each criterion should get: ``fail``, ``pass_or_warn`` or ``not_applicable``.

    ``fail`` for the preset's expected failing criteria, and for the hairline
    of a scene whose edge is harder than the default profile's warn limit on
    the fall-off width (2 mm: ``botched`` has a 0.5 mm edge, although the
    hairline is not among the criteria that preset is tested to fail);
    ``not_applicable`` for the hairline of a scene without one;
    ``pass_or_warn`` otherwise.
    """
    from ..profile import Profile
    from ..synth import PRESETS

    fails = PRESETS[preset_name][1]
    hard_below_mm = Profile.default().limits("hairline")["width_mm"].warn
    out = {}
    for c in CRITERIA:
        if c in fails:
            out[c] = "fail"
        elif c == "hairline" and scene.hairline.side == "none":
            out[c] = "not_applicable"
        elif c == "hairline" and scene.hairline.width_mm < hard_below_mm:
            out[c] = "fail"
        else:
            out[c] = "pass_or_warn"
    return out


def make_dataset(outdir, *, presets=None, per_preset=2, seed=0, size="small",
                 progress=True) -> Path:
    """Simulate a benchmark data set: photos, truth files and ``manifest.csv``.

    Parameters
    ----------
    outdir : str or os.PathLike
        Folder to write into (made if needed). Files of the same names are
        replaced, each atomically; other files are left alone.
    presets : sequence of str or str, optional
        Preset names (a list or one comma-separated string); default every preset.
    per_preset : int
        Photos per preset.
    seed : int
        Data set seed (>= 0). Photo k of a preset gets the scene seed
        :func:`photo_seed` (seed, preset, k), so a preset's photos do not
        depend on which other presets are chosen (or exist).
    size : {"small", "3mp", "12mp"} or (int, int) or "WxH"
        Photo size (see :data:`SIZES`); the presets' scale (px/mm) is kept.
    progress : bool
        Show a tqdm progress bar on stderr.

    Returns
    -------
    pathlib.Path
        The manifest's path.

    Raises
    ------
    DatasetError
        Unknown preset or size, or bad counts.

    Notes
    -----
    The same arguments give the same files bit for bit, given the same
    versions of numpy, OpenCV and Pillow (the PNG encoder), which the
    manifest's SHA-256 column lets you check.
    """
    from tqdm import tqdm

    names = _preset_list(presets)
    width, height = parse_size(size)
    per_preset, seed = _count(per_preset, "per_preset", 1), _count(seed, "seed", 0)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(name, k) for name in names for k in range(per_preset)]
    rows = [_make_photo(out, name, k, seed, width, height)
            for name, k in tqdm(jobs, disable=not progress, unit="photo", desc="smpqa dataset")]
    path = out / MANIFEST
    write_text_atomic(path, _manifest_text(rows))
    return path


def _make_photo(out: Path, name: str, k: int, seed: int, width: int, height: int) -> dict:
    from .. import synth

    s = photo_seed(seed, name, k)
    scene = synth.preset(name, seed=s, width_px=width, height_px=height)
    file = f"{name}-{k:03d}.png"
    synth.render(scene).write(out / file)
    exp = expected_verdicts(name, scene)
    return {"file": file, "preset": name, "seed": s, "px_per_mm": repr(scene.px_per_mm),
            "width_px": width, "height_px": height,
            **{f"expected_{c}": exp[c] for c in CRITERIA}, "sha256": _sha256(out / file)}


def _preset_list(presets) -> list[str]:
    from ..synth import preset_names

    known = preset_names()
    if presets is None:
        return known
    names = presets.split(",") if isinstance(presets, str) else list(presets)
    names = [str(n).strip() for n in names if str(n).strip()]
    bad = [n for n in names if n not in known]
    if bad:
        raise DatasetError(f"unknown preset(s) {', '.join(bad)}; known: {', '.join(known)}")
    if not names:
        raise DatasetError("no presets given")
    if len(set(names)) != len(names):
        raise DatasetError("a preset is named twice; use per_preset for more photos of one")
    return names


def parse_size(size) -> tuple[int, int]:
    """(width, height) px of a size name, a ``"WxH"`` string or a pair."""
    if isinstance(size, str):
        if size in SIZES:
            return SIZES[size]
        m = _WXH.match(size)
        if not m:
            raise DatasetError(f"unknown size {size!r}; give one of {', '.join(SIZES)} or WxH")
        size = (int(m[1]), int(m[2]))
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        raise DatasetError(f"size must be a name or (width, height), got {size!r}") from None
    if not (8 <= w <= 20000 and 8 <= h <= 20000):
        raise DatasetError(f"photo size must be within 8..20000 px, got {w}x{h}")
    return w, h


def _count(v, name: str, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise DatasetError(f"{name} must be an integer >= {lo}, got {v!r}")
    return int(v)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _manifest_text(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def read_manifest(folder) -> list[dict]:
    """Rows of a data set's ``manifest.csv``, with numbers parsed.

    Parameters
    ----------
    folder : str or os.PathLike
        The data set folder (or the manifest itself).

    Returns
    -------
    list of dict
        One dict per photo with the :data:`MANIFEST_COLUMNS` keys; ``seed``,
        ``width_px``, ``height_px`` as int, ``px_per_mm`` as float, and
        ``path``: the photo's full path.

    Raises
    ------
    DatasetError
        No manifest, missing columns, or malformed values.
    """
    folder = Path(folder)
    path = folder if folder.is_file() else folder / MANIFEST
    if not path.is_file():
        raise DatasetError(f"no {MANIFEST} in {folder}: give a folder made by "
                           f"`smpqa dataset make`, or an annotation file with images")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in MANIFEST_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DatasetError(f"{path}: missing column(s) {', '.join(missing)}")
        return [_parse_row(path, i + 2, r) for i, r in enumerate(reader)]


def _parse_row(path: Path, line: int, r: dict) -> dict:
    try:
        row = {**r, "seed": int(r["seed"]), "width_px": int(r["width_px"]),
               "height_px": int(r["height_px"]), "px_per_mm": float(r["px_per_mm"])}
    except (TypeError, ValueError):
        raise DatasetError(f"{path}, line {line}: seed, width_px, height_px and px_per_mm "
                           f"must be numbers") from None
    bad = [c for c in CRITERIA if row[f"expected_{c}"] not in EXPECTED]
    if bad:
        raise DatasetError(f"{path}, line {line}: expected_{bad[0]} must be one of "
                           f"{', '.join(EXPECTED)}, got {row[f'expected_{bad[0]}']!r}")
    row["path"] = path.parent / row["file"]
    return row


_KEEP: contextlib.ExitStack | None = None


def sample_dataset() -> Path:
    """Folder of the small sample data set shipped with smpqa.

    Four 600 x 450 simulated photos (good_light, botched, blowout, patchy),
    their truth files and ``manifest.csv``, made by :func:`make_dataset`
    with seed 0.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> from smpqa.research import sample_dataset, read_manifest
    >>> [r["preset"] for r in read_manifest(sample_dataset())]
    ['good_light', 'botched', 'blowout', 'patchy']
    """
    global _KEEP
    res = importlib.resources.files("smpqa").joinpath("data", "samples")
    if isinstance(res, Path):
        return res
    # Installed inside a zip: extract once and keep it until the interpreter exits.
    if _KEEP is None:
        _KEEP = contextlib.ExitStack()
        atexit.register(_KEEP.close)
    return _KEEP.enter_context(importlib.resources.as_file(res))
