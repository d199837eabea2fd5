"""Point annotations of real photos: CSV, COCO keypoints and VGG Image Annotator (VIA 2.x).

Every reader returns coordinates in smpqa's convention (docs/contracts.md):
x = column, y = row, the centre of pixel (0, 0) at (0.0, 0.0).

Coordinate conventions of the formats, and the shift applied by default
(``pixel_offset`` overrides it for every format):

- **CSV** is smpqa's own format (the same as the simulator's truth files and
  ``DotTable.to_csv``), so it is read as is: shift 0.
- **COCO** keypoints are taken to be continuous image coordinates whose origin
  (0, 0) is the top-left *corner* of the top-left pixel, like COCO's boxes and
  polygons; the centre of pixel (0, 0) is then at (0.5, 0.5), so 0.5 is
  subtracted. Some code (Detectron2) reads the original COCO person keypoints
  as integer pixel *indices* instead, which is smpqa's convention already:
  pass ``pixel_offset=0`` for files written that way. Either way the
  difference is half a pixel, well inside the 2 px matching radius, but it
  shows in the position RMSE.
- **VIA** stores the mouse position on its canvas scaled to the image, i.e.
  the same corner-origin continuous coordinates: 0.5 is subtracted too.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._numbers import is_finite_real
from ..errors import SmpqaError

__all__ = ["AnnotationError", "PointSet", "load_annotations", "read_points_csv", "FORMATS",
           "DEFAULT_OFFSETS"]

#: Formats :func:`load_annotations` recognises.
FORMATS = ("csv", "coco", "via")
#: Shift added to x and y by default, per format (see the module docstring).
DEFAULT_OFFSETS = {"csv": 0.0, "coco": -0.5, "via": -0.5}
_CSV_SUFFIXES = (".csv", ".txt")
# Column names accepted for the image a CSV row belongs to (multi-image CSV files).
_IMAGE_COLUMNS = ("image", "file", "filename", "file_name", "image_name")
# VIA shapes that mark a dot; others (rect, polygon, polyline) outline something else.
_VIA_DOT_SHAPES = ("point", "circle", "ellipse")


class AnnotationError(SmpqaError):
    """An annotation file is malformed; the message names the file and the problem."""


@dataclass(frozen=True)
class PointSet:
    """Annotated dots of one photo.

    Attributes
    ----------
    x, y : numpy.ndarray
        Dot centres, px (pixel centres at integers).
    diameter_px : numpy.ndarray or None
        Dot diameters, px; None when the annotation gives none. NaN marks a
        dot without one among dots with one (VIA points beside circles).
    """

    x: np.ndarray
    y: np.ndarray
    diameter_px: np.ndarray | None = None

    def __post_init__(self):
        x = np.asarray(self.x, float).reshape(-1)
        y = np.asarray(self.y, float).reshape(-1)
        if x.shape != y.shape:
            raise ValueError("x and y must have one length")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        if self.diameter_px is not None:
            d = np.asarray(self.diameter_px, float).reshape(-1)
            if d.shape != x.shape:
                raise ValueError("diameter_px must have the length of x")
            object.__setattr__(self, "diameter_px", d)

    def __len__(self) -> int:
        return int(self.x.size)


def load_annotations(path, *, pixel_offset: float | None = None,
                     format: str | None = None) -> dict[str, PointSet]:
    """Read point annotations of one or more photos, detecting the format.

    Parameters
    ----------
    path : str or os.PathLike
        A CSV file (one photo, keyed by the file's stem, or several with an
        ``image`` column), a folder of CSV files (one per photo, keyed by
        stem), a COCO keypoints JSON or a VIA 2.x project or export JSON.
    pixel_offset : float, optional
        Added to every x and y; default per format, see :data:`DEFAULT_OFFSETS`
        and the module docstring.
    format : {"csv", "coco", "via"}, optional
        Skip detection.

    Returns
    -------
    dict of str to PointSet
        Image name (file name for COCO/VIA, as the annotation spells it) ->
        its dots. Images listed without any dot map to an empty set.

    Raises
    ------
    AnnotationError
        Unknown format or a malformed file; the message names the file and
        what is wrong.
    OSError
        The file cannot be read.
    """
    p = Path(path)
    fmt = format or _detect(p)
    if fmt not in FORMATS:
        raise AnnotationError(f"{p}: unknown annotation format {fmt!r}; known: "
                              f"{', '.join(FORMATS)}")
    if pixel_offset is not None and not is_finite_real(pixel_offset):
        raise AnnotationError(f"pixel_offset must be a finite number, got {pixel_offset!r}")
    off = DEFAULT_OFFSETS[fmt] if pixel_offset is None else float(pixel_offset)
    if fmt == "csv":
        return _load_csv_any(p, off)
    data = _read_json(p)
    return _load_coco(p, data, off) if fmt == "coco" else _load_via(p, data, off)


def _detect(p: Path) -> str:
    if p.is_dir():
        return "csv"
    suffix = p.suffix.lower()
    if suffix in _CSV_SUFFIXES:
        return "csv"
    if suffix != ".json":
        raise AnnotationError(f"{p}: unknown annotation format (suffix {suffix or 'none'!r}); "
                              f"give a .csv, a folder of .csv files, or a COCO/VIA .json")
    data = _read_json(p)
    if isinstance(data, dict) and "images" in data and "annotations" in data:
        return "coco"
    if isinstance(data, dict) and ("_via_img_metadata" in data or _looks_like_via(data)):
        return "via"
    raise AnnotationError(f"{p}: unknown JSON annotation format: expected COCO (top-level "
                          f"'images' and 'annotations') or VIA 2.x ('_via_img_metadata', or "
                          f"entries with 'filename' and 'regions')")


def _looks_like_via(data: dict) -> bool:
    return bool(data) and all(isinstance(v, dict) and "filename" in v and "regions" in v
                              for v in data.values())


def _read_json(p: Path):
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AnnotationError(f"{p}: not UTF-8 text ({exc.reason})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnnotationError(f"{p}: invalid JSON at line {exc.lineno}: {exc.msg}") from None


# --- CSV --------------------------------------------------------------------------------------


def read_points_csv(path, *, pixel_offset: float = 0.0, extra=(),
                    error=AnnotationError) -> tuple[PointSet, dict]:
    """Read one photo's points from a CSV with columns x, y[, diameter_px].

    Column names are matched case-insensitively (``X``/``Y`` as written by
    ImageJ work too); other columns are ignored.

    Parameters
    ----------
    path : str or os.PathLike
    pixel_offset : float
        Added to x and y.
    extra : sequence of str
        Further optional numeric columns to return (e.g. ``("score",)``).
    error : type
        Exception class raised for a malformed file.

    Returns
    -------
    (PointSet, dict)
        The points, and ``{name: array}`` for each of ``extra`` present.
    """
    p = Path(path)
    header, rows = _csv_rows(p, error)
    cols = _column_index(p, header, ("x", "y"), ("diameter_px", *extra), error)
    values = {k: _numbers(p, rows, i, k, error) for k, i in cols.items()}
    points = _pointset(p, values, pixel_offset, error)
    return points, {k: values[k] for k in extra if k in values}


def _load_csv_any(p: Path, off: float) -> dict[str, PointSet]:
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in _CSV_SUFFIXES)
        if not files:
            raise AnnotationError(f"{p}: no .csv annotation files in this folder")
        return {f.stem: read_points_csv(f, pixel_offset=off)[0] for f in files}
    header, rows = _csv_rows(p, AnnotationError)
    lower = [h.strip().lower() for h in header]
    image_col = next((c for c in _IMAGE_COLUMNS if c in lower), None)
    if image_col is None:
        return {p.stem: read_points_csv(p, pixel_offset=off)[0]}
    cols = _column_index(p, header, ("x", "y"), ("diameter_px",), AnnotationError)
    names = [r[lower.index(image_col)].strip() for r in rows]
    out = {}
    for name in dict.fromkeys(names):
        sel = [r for r, n in zip(rows, names) if n == name]
        values = {k: _numbers(p, sel, i, k, AnnotationError) for k, i in cols.items()}
        out[name] = _pointset(p, values, off, AnnotationError)
    return out


def _csv_rows(p: Path, error) -> tuple[list[str], list[list[str]]]:
    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            rows = [r for r in csv.reader(fh) if any(c.strip() for c in r)]
    except UnicodeDecodeError as exc:
        raise error(f"{p}: not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise error(f"{p}: unreadable CSV ({exc})") from None
    if not rows:
        raise error(f"{p}: empty file; expected a header row with x and y")
    return rows[0], rows[1:]


def _column_index(p: Path, header, required, optional, error) -> dict[str, int]:
    lower = [h.strip().lower() for h in header]
    missing = [c for c in required if c not in lower]
    if missing:
        raise error(f"{p}: missing column(s) {', '.join(missing)} (found: "
                    f"{', '.join(h.strip() for h in header) or 'none'})")
    return {c: lower.index(c) for c in (*required, *optional) if c in lower}


def _numbers(p: Path, rows, i: int, name: str, error) -> np.ndarray:
    out = np.empty(len(rows))
    for k, row in enumerate(rows):
        cell = row[i].strip() if i < len(row) else ""
        try:
            v = float(cell)
        except ValueError:
            v = math.nan
        if not math.isfinite(v):
            # Row numbers count the header as row 1, as a spreadsheet shows them.
            raise error(f"{p}: row {k + 2}, column {name}: {cell!r} is not a finite number")
        out[k] = v
    return out


def _pointset(p: Path, values: dict, off: float, error) -> PointSet:
    d = values.get("diameter_px")
    if d is not None and (d <= 0).any():
        raise error(f"{p}: diameter_px must be positive (row {int(np.argmax(d <= 0)) + 2})")
    return PointSet(values["x"] + off, values["y"] + off, d)


# --- COCO -------------------------------------------------------------------------------------


def _load_coco(p: Path, data, off: float) -> dict[str, PointSet]:
    images, anns = _coco_lists(p, data)
    names = {}
    for k, im in enumerate(images):
        if not isinstance(im, dict) or "id" not in im or not isinstance(im.get("file_name"), str):
            raise AnnotationError(f"{p}: images[{k}] needs an 'id' and a 'file_name' string")
        names[im["id"]] = im["file_name"]
    pts: dict[str, list] = {n: [] for n in names.values()}
    n_kp = 0
    for k, ann in enumerate(anns):
        if not isinstance(ann, dict):
            raise AnnotationError(f"{p}: annotations[{k}] is not an object")
        if "keypoints" not in ann:
            continue  # boxes or masks of other categories may share the file
        n_kp += 1
        if ann.get("image_id") not in names:
            raise AnnotationError(f"{p}: annotations[{k}] refers to image_id "
                                  f"{ann.get('image_id')!r}, which is not in 'images'")
        pts[names[ann["image_id"]]].extend(_coco_triples(p, k, ann["keypoints"]))
    if anns and n_kp == 0:
        raise AnnotationError(f"{p}: no annotation has 'keypoints'; expected COCO keypoints "
                              f"[x, y, v, ...]")
    return {n: PointSet(np.array([q[0] for q in v]) + off, np.array([q[1] for q in v]) + off)
            for n, v in pts.items()}


def _coco_lists(p: Path, data) -> tuple[list, list]:
    images, anns = data.get("images"), data.get("annotations")
    if not isinstance(images, list) or not isinstance(anns, list):
        raise AnnotationError(f"{p}: COCO 'images' and 'annotations' must be lists")
    return images, anns


def _coco_triples(p: Path, k: int, kp) -> list[tuple[float, float]]:
    if not isinstance(kp, list):
        raise AnnotationError(f"{p}: annotations[{k}].keypoints must be a list [x, y, v, ...]")
    if len(kp) % 3:
        raise AnnotationError(f"{p}: annotations[{k}].keypoints has {len(kp)} numbers, not a "
                              f"multiple of 3 (x, y, v triples)")
    if not all(is_finite_real(v) for v in kp):
        raise AnnotationError(f"{p}: annotations[{k}].keypoints holds a non-numeric or "
                              f"non-finite value")
    # v = 0: the keypoint is not labelled (its x, y are placeholders, usually 0, 0).
    return [(float(kp[i]), float(kp[i + 1])) for i in range(0, len(kp), 3) if kp[i + 2] != 0]


# --- VIA --------------------------------------------------------------------------------------


def _load_via(p: Path, data, off: float) -> dict[str, PointSet]:
    entries = data.get("_via_img_metadata", data)
    if not isinstance(entries, dict):
        raise AnnotationError(f"{p}: VIA '_via_img_metadata' must be an object")
    dots: dict[str, list] = {}
    for key, entry in entries.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str):
            raise AnnotationError(f"{p}: VIA entry {key!r} needs a 'filename' string")
        regions = entry.get("regions", [])
        # VIA 1.x stored regions as {"0": {...}, "1": {...}}; 2.x as a list.
        regions = list(regions.values()) if isinstance(regions, dict) else regions
        if not isinstance(regions, list):
            raise AnnotationError(f"{p}: VIA entry {key!r}: 'regions' must be a list")
        found = dots.setdefault(entry["filename"], [])
        found.extend(_via_dot(p, entry["filename"], j, r) for j, r in enumerate(regions)
                     if _via_shape(p, entry["filename"], j, r) in _VIA_DOT_SHAPES)
    return {name: _via_pointset(v, off) for name, v in dots.items()}


def _via_shape(p: Path, name: str, j: int, region) -> str:
    sa = region.get("shape_attributes") if isinstance(region, dict) else None
    if not isinstance(sa, dict) or not isinstance(sa.get("name"), str):
        raise AnnotationError(f"{p}: {name}, region {j}: needs 'shape_attributes' with a 'name'")
    return sa["name"]


def _via_dot(p: Path, name: str, j: int, region) -> tuple[float, float, float]:
    sa = region["shape_attributes"]
    shape = sa["name"]
    need = {"point": ("cx", "cy"), "circle": ("cx", "cy", "r"),
            "ellipse": ("cx", "cy", "rx", "ry")}[shape]
    bad = [k for k in need if not is_finite_real(sa.get(k))]
    if bad:
        raise AnnotationError(f"{p}: {name}, region {j} ({shape}): missing or non-numeric "
                              f"{', '.join(bad)}")
    if shape == "circle":
        d = 2.0 * sa["r"]
    elif shape == "ellipse":
        d = float(sa["rx"] + sa["ry"])  # mean of the two axes
    else:
        return float(sa["cx"]), float(sa["cy"]), math.nan
    if not d > 0:
        raise AnnotationError(f"{p}: {name}, region {j} ({shape}): the radius must be positive")
    return float(sa["cx"]), float(sa["cy"]), d


def _via_pointset(dots: list, off: float) -> PointSet:
    a = np.array(dots, float).reshape(-1, 3)
    d = a[:, 2] if np.isfinite(a[:, 2]).any() else None
    return PointSet(a[:, 0] + off, a[:, 1] + off, d)
