"""Score dot detections, and verdicts, against truth.

Truth is a data set folder (``manifest.csv`` + the simulator's truth files,
see :func:`smpqa.research.make_dataset`) or an annotation file of real photos
(:func:`smpqa.research.annotations.load_annotations`). Predictions are a
folder of ``<stem>.csv`` files (columns x, y[, diameter_px][, score]) with,
optionally, ``<stem>.json`` analyses beside them, or a ``smpqa batch`` output
folder, or smpqa itself (``run="smpqa"``).

Matching follows docs/contracts.md (:func:`smpqa.match.match_dots`): one to
one, closest pairs first, within max(2 px, half the true diameter), a border
of 1 mm ignored. Scores of a group of photos are micro-averaged: the matched,
false and missed dots are summed over the photos first. Their 95 % confidence
intervals come from a percentile bootstrap that resamples whole photos,
because dots of one photo share its lighting, skin and blur and are not
independent.
"""

from __future__ import annotations

import csv
import json
import math
import os
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._numbers import is_finite_real, is_integer
from ..calibrate import Marker
from ..errors import CalibrationError, SmpqaError
from ..match import match_dots
from ..profile import CRITERIA
from .annotations import load_annotations, read_points_csv
from .dataset import EXPECTED, read_manifest

__all__ = ["evaluate", "Evaluation", "EvaluationError", "PREDICTED", "BORDER_MM"]

#: Verdict statuses a prediction may carry, in the order of the confusion matrices' columns.
PREDICTED = ("pass", "warn", "fail", "not_applicable")
#: Width of the ignored border (docs/contracts.md).
BORDER_MM = 1.0
_TYPICAL_DIAMETER_MM = 0.30  # stands in for annotations without diameters
_NO_SCALE_DIAMETER_PX = 4.0  # ... and without a scale: a 2 px matching radius
_PR_POINTS = 41
_PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp")
_ANNOTATED = "annotated"  # the group of photos whose truth is an annotation file
_SCORE_KEYS = ("precision", "recall", "f1")


class EvaluationError(SmpqaError):
    """Truth or predictions cannot be paired or read; the message says which file and why."""


@dataclass(frozen=True)
class _Truth:
    name: str
    stem: str
    image: Path | None
    x: np.ndarray
    y: np.ndarray
    diameter_px: np.ndarray
    has_diameter: bool
    shape: tuple[int, int] | None
    px_per_mm: float | None
    preset: str
    expected: dict | None
    marker: Marker | None = None  # the printed marker in the photo (simulated truth), if any
    view: str | None = None  # how the photo was taken (simulated truth: the scene's view)


@dataclass(frozen=True)
class _Pred:
    x: np.ndarray | None  # None: no detections given (verdicts only)
    y: np.ndarray | None
    diameter_px: np.ndarray | None
    score: np.ndarray | None
    verdicts: dict | None


# --- truth ------------------------------------------------------------------------------------


def _truth_record(json_path: Path) -> dict:
    """A simulated photo's ``.truth.json``; empty when missing or unreadable (older data sets)."""
    try:
        rec = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return rec if isinstance(rec, dict) else {}


def _recorded_view(rec: dict) -> str | None:
    """The view the scene of a truth record was taken from ("front"), or None."""
    scene = rec.get("scene")
    return "front" if isinstance(scene, dict) and scene.get("view") == "front" else None


def _printed_marker(name: str, rec: dict) -> Marker | None:
    """The printed marker a simulated photo's truth record holds; None if none.

    A record that does not make a :class:`~smpqa.Marker` is warned about
    (the photo is then analysed without it).
    """
    truth = rec.get("truth")
    mk = truth.get("marker") if isinstance(truth, dict) else None
    if not isinstance(mk, dict):
        return None
    try:
        return Marker(**{k: mk[k] for k in ("side_mm", "dictionary", "id") if k in mk})
    except (TypeError, ValueError) as exc:  # a malformed truth record
        # here < _truth_from_dataset < _load_truth < evaluate
        _without_marker(name, exc, depth=4)
        return None


def _truth_from_dataset(folder: Path) -> list[_Truth]:
    from ..synth import truth_paths

    out = []
    for r in read_manifest(folder):
        csv_path, json_path = truth_paths(r["path"])
        if not csv_path.is_file():
            raise EvaluationError(f"missing truth file {csv_path} (listed in the manifest)")
        pts, _ = read_points_csv(csv_path, error=EvaluationError)
        if pts.diameter_px is None:
            raise EvaluationError(f"{csv_path}: truth needs a diameter_px column")
        rec = _truth_record(json_path)
        out.append(_Truth(r["file"], Path(r["file"]).stem, r["path"], pts.x, pts.y,
                          pts.diameter_px, True, (r["height_px"], r["width_px"]),
                          r["px_per_mm"], r["preset"],
                          {c: r[f"expected_{c}"] for c in CRITERIA},
                          _printed_marker(r["file"], rec), _recorded_view(rec)))
    if not out:
        raise EvaluationError(f"{folder}: the manifest lists no photos")
    return out


def _truth_from_annotations(path: Path, images_dir, px_per_mm, pixel_offset) -> list[_Truth]:
    ann = load_annotations(path, pixel_offset=pixel_offset)
    if not ann:
        raise EvaluationError(f"{path}: no annotated images")
    out = []
    for name, pts in ann.items():
        image = _find_image(Path(images_dir), name) if images_dir is not None else None
        ppm, shape = _scale_and_shape(image, px_per_mm)
        d, has_d = _fill_diameters(pts.diameter_px, ppm, len(pts))
        out.append(_Truth(name, Path(name).stem, image, pts.x, pts.y, d, has_d, shape, ppm,
                          _ANNOTATED, None))
    return out


def _find_image(images_dir: Path, name: str) -> Path:
    for cand in (images_dir / name, images_dir / Path(name).name):
        if cand.is_file():
            return cand
    stem = Path(name).stem if Path(name).suffix.lower() in _PHOTO_SUFFIXES else Path(name).name
    found = sorted(p for p in images_dir.glob(f"{_glob_escape(stem)}.*")
                   if p.suffix.lower() in _PHOTO_SUFFIXES)
    if not found:
        raise EvaluationError(f"no photo for the annotated image {name!r} in {images_dir}")
    return found[0]


def _glob_escape(s: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in s)


def _scale_and_shape(image: Path | None, px_per_mm):
    from ..io import load_image, read_px_per_mm

    ppm = float(px_per_mm) if px_per_mm is not None else None
    if image is None:
        return ppm, None
    if ppm is None:
        ppm = read_px_per_mm(image)
    # smpqa's loader applies EXIF orientation, so its shape is the one detections refer to.
    return ppm, load_image(image).shape[:2]


def _fill_diameters(d, ppm, n: int) -> tuple[np.ndarray, bool]:
    """True diameters for matching; annotations without them get a typical dot's."""
    stand_in = _TYPICAL_DIAMETER_MM * ppm if ppm else _NO_SCALE_DIAMETER_PX
    if d is None:
        return np.full(n, stand_in), False
    return np.where(np.isfinite(d), d, stand_in), bool(np.isfinite(d).all())


def _load_truth(truth, images_dir, px_per_mm, pixel_offset) -> list[_Truth]:
    p = Path(truth)
    if p.is_dir() and (p / "manifest.csv").is_file():
        return _truth_from_dataset(p)
    if p.is_file() or (p.is_dir() and any(p.glob("*.csv"))):
        return _truth_from_annotations(p, images_dir, px_per_mm, pixel_offset)
    raise EvaluationError(f"no truth at {p}: give a data set folder (with manifest.csv), an "
                          f"annotation file, or a folder of per-photo annotation CSV files")


# --- predictions ------------------------------------------------------------------------------


def _preds_from_dir(pred_dir: Path, truths: list[_Truth]) -> list[_Pred]:
    if not pred_dir.is_dir():
        raise EvaluationError(f"no prediction folder {pred_dir}")
    csvs = [pred_dir / f"{t.stem}.csv" for t in truths]
    have = [c.is_file() for c in csvs]
    if any(have) and not all(have):
        missing = [c.name for c, h in zip(csvs, have) if not h]
        raise EvaluationError(f"{pred_dir}: no predictions for {len(missing)} photo(s): "
                              f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
    jsons = _json_index(pred_dir, [t.stem for t in truths])
    if not any(have) and not jsons:
        raise EvaluationError(f"{pred_dir}: found neither <stem>.csv detections nor analysis "
                              f"JSON files for the photos (e.g. {csvs[0].name})")
    return [_read_pred(c if h else None, jsons.get(t.stem))
            for t, c, h in zip(truths, csvs, have)]


def _json_index(pred_dir: Path, stems: list[str]) -> dict[str, Path]:
    """stem -> analysis JSON: ``<stem>.json``, or a ``smpqa batch`` result naming the photo."""
    found = {s: pred_dir / f"{s}.json" for s in stems if (pred_dir / f"{s}.json").is_file()}
    wanted = set(stems) - set(found)
    for folder in (pred_dir, pred_dir / "results"):
        if not wanted or not folder.is_dir():
            continue
        for p in sorted(folder.glob("*.json")):
            source = _source_of(p)
            if source and Path(source).stem in wanted:
                found[Path(source).stem] = p
                wanted.discard(Path(source).stem)
    return found


def _source_of(p: Path) -> str | None:
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # not an analysis; other JSON files may share the folder
    return d.get("source") if isinstance(d, dict) and "verdicts" in d else None


def _read_pred(csv_path: Path | None, json_path: Path | None) -> _Pred:
    verdicts = _read_verdicts(json_path) if json_path else None
    if csv_path is None:
        return _Pred(None, None, None, None, verdicts)
    pts, extra = read_points_csv(csv_path, extra=("score",), error=EvaluationError)
    return _Pred(pts.x, pts.y, pts.diameter_px, extra.get("score"), verdicts)


def _read_verdicts(path: Path) -> dict:
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise EvaluationError(f"{path}: invalid JSON ({exc})") from None
    v = d.get("verdicts") if isinstance(d, dict) else None
    if not isinstance(v, dict):
        raise EvaluationError(f"{path}: no 'verdicts' object (expected Analysis.to_dict() JSON)")
    out = {}
    for c in CRITERIA:
        s = v.get(c, {}).get("status") if isinstance(v.get(c), dict) else None
        if s not in PREDICTED:
            raise EvaluationError(f"{path}: verdicts.{c}.status must be one of "
                                  f"{', '.join(PREDICTED)}, got {s!r}")
        out[c] = s
    return out


def _without_marker(name: str, why: Exception, depth: int) -> None:
    """Warn that photo ``name`` is analysed without its printed marker.

    ``depth`` is how many frames lead from this function's caller up to
    :func:`evaluate`, both counted: the warning then points at the line that
    called :func:`evaluate`.
    """
    warnings.warn(f"{name}: {why}; analysed without the marker, whose paper is then judged "
                  "as skin", stacklevel=depth + 2)


def _analyze_truth(t: _Truth, analyze, profile, view):
    """``analyze`` one photo as its user would, with the printed marker the truth records.

    The marker's paper is then left out of the judged region (the scale still
    comes from the truth); where it cannot be found, the photo is analysed
    without it, with a warning. Without a ``view``, the photo's own (the
    scene's, for a simulated photo) is used.
    """
    view = view or t.view
    if t.marker is not None:
        try:
            return analyze(t.image, px_per_mm=t.px_per_mm, marker=t.marker, profile=profile,
                           view=view)
        except CalibrationError as exc:  # not found in the photo
            _without_marker(t.name, exc, depth=3)  # here < _preds_from_smpqa < evaluate
    return analyze(t.image, px_per_mm=t.px_per_mm, profile=profile, view=view)


def _preds_from_smpqa(truths: list[_Truth], profile, view, progress) -> list[_Pred]:
    from tqdm import tqdm

    from ..analysis import analyze
    from ..profile import Profile

    if isinstance(profile, (str, os.PathLike)):
        profile = Profile.load(profile)  # once, not per photo
    out = []
    for t in tqdm(truths, disable=not progress, unit="photo", desc="smpqa evaluate"):
        if t.image is None:
            raise EvaluationError("run='smpqa' needs the photos: give images_dir (--images) "
                                  "with the annotation file")
        a = _analyze_truth(t, analyze, profile, view)
        d = a.dots
        # snr ranks detections by confidence, which is what a PR sweep needs.
        out.append(_Pred(np.array(d["x"]), np.array(d["y"]), np.array(d["diameter_px"]),
                         np.array(d["snr"]), {c: v.status for c, v in a.verdicts.items()}))
    return out


# --- scoring ----------------------------------------------------------------------------------


def _border_px(t: _Truth, border_mm: float) -> float:
    return border_mm * t.px_per_mm if (t.px_per_mm and t.shape) else 0.0


def _match(t: _Truth, p: _Pred, border_mm: float, keep=None):
    x, y, d = p.x, p.y, p.diameter_px
    if keep is not None:
        x, y, d = x[keep], y[keep], (None if d is None else d[keep])
    return match_dots(x, y, t.x, t.y, t.diameter_px,
                      pred_diameter_px=d if t.has_diameter else None, shape=t.shape,
                      border_px=_border_px(t, border_mm))


def _median(a) -> float:
    return float(np.median(a)) if len(a) else math.nan


def _error_stats(rel, absolute, pos) -> dict:
    return {"diameter_bias_rel": _median(rel),
            "diameter_median_abs_rel": _median(np.abs(rel)),
            "diameter_median_abs_px": _median(np.abs(absolute)),
            "position_rmse_px": float(np.sqrt(np.mean(pos**2))) if len(pos) else math.nan}


def _prf(tp, fp, fn):
    """Precision, recall, F1 with the conventions of :func:`match_dots`, element-wise."""
    tp, fp, fn = (np.asarray(v, float) for v in (tp, fp, fn))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(tp + fp > 0, tp / (tp + fp), 1.0)
        r = np.where(tp + fn > 0, tp / (tp + fn), 1.0)
        f = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    return p, r, f


def _bootstrap(counts: np.ndarray, n_boot: int, rng) -> dict:
    """95 % percentile intervals of micro-averaged P/R/F1, resampling photos."""
    n = len(counts)
    if n_boot < 1 or n == 0:
        return {k: [math.nan, math.nan] for k in _SCORE_KEYS}
    sums = np.empty((n_boot, 3))
    for lo in range(0, n_boot, 256):  # chunks keep memory at 256 x n indices
        m = min(256, n_boot - lo)
        sums[lo:lo + m] = counts[rng.integers(0, n, size=(m, n))].sum(axis=1)
    stats = _prf(*sums.T)
    return {k: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))]
            for k, v in zip(_SCORE_KEYS, stats)}


def _group_rng(seed: int, name: str):
    # One stream per group, so a group's interval does not depend on the other groups.
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _summarise(name: str, rows: list[dict], arrays: list[dict], n_boot: int, seed: int) -> dict:
    out = {"n_photos": len(rows)}
    if rows[0]["tp"] is None:
        return out
    counts = np.array([[r["tp"], r["fp"], r["fn"]] for r in rows], float)
    tp, fp, fn = counts.sum(axis=0)
    p, r, f = (float(v) for v in _prf(tp, fp, fn))
    out.update(n_true=int(tp + fn), n_pred=int(tp + fp), tp=int(tp), fp=int(fp), fn=int(fn),
               precision=p, recall=r, f1=f)
    ci = _bootstrap(counts, n_boot, _group_rng(seed, name))
    out.update({f"{k}_ci": ci[k] for k in _SCORE_KEYS})
    out.update(_error_stats(*(np.concatenate([a[k] for a in arrays]) for k in
                              ("diameter_rel", "diameter_abs_px", "position_px"))))
    return out


def _photo_row(t: _Truth, p: _Pred, border_mm: float) -> tuple[dict, dict]:
    row = {"name": t.name, "preset": t.preset, "border_px": _border_px(t, border_mm)}
    arrays = {k: np.zeros(0) for k in ("diameter_rel", "diameter_abs_px", "position_px")}
    if p.x is None:
        row.update(dict.fromkeys(("n_true", "n_pred", "tp", "fp", "fn", *_SCORE_KEYS)))
    else:
        s = _match(t, p, border_mm)
        row.update(n_true=s.tp + s.fn, n_pred=s.tp + s.fp, tp=s.tp, fp=s.fp, fn=s.fn,
                   precision=s.precision, recall=s.recall, f1=s.f1)
        arrays = {"diameter_rel": s.diameter_rel_error, "diameter_abs_px":
                  s.diameter_abs_error_px, "position_px": s.position_error_px}
        row.update(_error_stats(*arrays.values()))
    row["expected"], row["predicted"] = t.expected, p.verdicts
    return row, arrays


def _agrees(expected: str, predicted: str) -> bool:
    if expected == "pass_or_warn":
        return predicted in ("pass", "warn")
    return expected == predicted


def _confusion(rows: list[dict]) -> dict | None:
    judged = [r for r in rows if r["expected"] and r["predicted"]]
    if not judged:
        return None
    out = {}
    for c in CRITERIA:
        m = {e: dict.fromkeys(PREDICTED, 0) for e in EXPECTED}
        for r in judged:
            m[r["expected"][c]][r["predicted"][c]] += 1
        n_fail, n_ok = sum(m["fail"].values()), sum(m["pass_or_warn"].values())
        agree = sum(v for e, row in m.items() for s, v in row.items() if _agrees(e, s))
        out[c] = {"matrix": m, "n": len(judged), "agree": agree,
                  "agreement": agree / len(judged),
                  "fails_caught": m["fail"]["fail"], "n_expected_fail": n_fail,
                  "false_fails": m["pass_or_warn"]["fail"], "n_expected_pass_or_warn": n_ok}
    return out


def _pr_curve(truths, preds, border_mm: float) -> dict | None:
    """Micro-averaged precision and recall as the score threshold sweeps the scores' range."""
    if any(p.score is None for p in preds):
        return None
    scores = np.concatenate([p.score for p in preds])
    if scores.size == 0:
        return None
    # Thresholds at quantiles of the scores: evenly spaced in recall, not in score units.
    ts = np.unique(np.quantile(scores, np.linspace(0, 1, _PR_POINTS), method="lower"))
    curve = {"threshold": [], "precision": [], "recall": [], "f1": []}
    for thr in ts:
        c = np.array([_counts(_match(t, p, border_mm, p.score >= thr))
                      for t, p in zip(truths, preds)]).sum(axis=0)
        for k, v in zip(("precision", "recall", "f1"), _prf(*c)):
            curve[k].append(float(v))
        curve["threshold"].append(float(thr))
    return curve


def _counts(s) -> tuple[int, int, int]:
    return s.tp, s.fp, s.fn


# --- the result -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """Scores of detections (and verdicts) against truth.

    Attributes
    ----------
    photos : tuple of dict
        One per photo: ``name``, ``preset``, ``n_true``, ``n_pred``, ``tp``,
        ``fp``, ``fn`` (1 mm border excluded), ``precision``, ``recall``,
        ``f1``, ``diameter_bias_rel`` (median of (found - true) / true),
        ``diameter_median_abs_rel``, ``diameter_median_abs_px``,
        ``position_rmse_px``, ``border_px``, ``expected`` and ``predicted``
        (criterion -> verdict, or None). Detection fields are None when the
        predictions carry verdicts only.
    presets : dict
        Preset (``"annotated"`` for annotation truth) -> the same scores
        micro-averaged over its photos, with ``precision_ci``, ``recall_ci``,
        ``f1_ci`` ([low, high] 95 % bootstrap intervals over photos) and
        ``n_photos``.
    overall : dict
        The same over every photo.
    verdicts : dict or None
        Criterion -> ``matrix`` (expected -> predicted -> count), ``n``,
        ``agree``, ``agreement``, ``fails_caught`` of ``n_expected_fail``,
        ``false_fails`` of ``n_expected_pass_or_warn``; None without verdicts.
    pr_curve : dict or None
        ``threshold``, ``precision``, ``recall``, ``f1`` lists, when every
        prediction has a ``score``.
    meta : dict
        What was evaluated and how (truth, predictions, n_boot, seed, ...).
    errors : dict
        Pooled per-pair errors of every photo: ``diameter_rel``,
        ``diameter_abs_px``, ``position_px`` arrays (for plots).
    """

    photos: tuple
    presets: dict
    overall: dict
    verdicts: dict | None
    pr_curve: dict | None
    meta: dict
    errors: dict = field(repr=False)

    @property
    def has_detections(self) -> bool:
        """Whether detections (not only verdicts) were scored."""
        return self.overall.get("tp") is not None

    def to_dict(self) -> dict:
        """JSON-safe dictionary of everything but the per-pair errors (NaN -> None)."""
        return _json_safe({"meta": self.meta, "overall": self.overall, "presets": self.presets,
                           "verdicts": self.verdicts, "pr_curve": self.pr_curve,
                           "photos": list(self.photos)})

    def to_json(self, path) -> Path:
        """Write :meth:`to_dict` as strict JSON (no NaN); returns the path."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n",
                        encoding="utf-8")
        return path

    def to_csv(self, path) -> Path:
        """Write one row per photo, per preset and overall (column ``level``); returns the path."""
        rows = [{"level": "photo", **_flat(r)} for r in self.photos]
        rows += [{"level": "preset", "name": k, "preset": k, **_flat(v)}
                 for k, v in self.presets.items()]
        rows.append({"level": "overall", "name": "all", **_flat(self.overall)})
        cols = list(dict.fromkeys(k for r in rows for k in r))
        path = Path(path)
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n")
            w.writeheader()
            w.writerows({k: _cell(v) for k, v in r.items()} for r in rows)
        return path

    def table(self) -> str:
        """Plain-text tables: detection scores per preset and overall, then verdict agreement."""
        parts = [_detection_table(self) if self.has_detections else
                 "No detections given: verdict agreement only."]
        if self.verdicts:
            parts.append(_verdict_table(self.verdicts))
        return "\n\n".join(parts)

    def plot(self, outdir) -> list[Path]:
        """Write PNG figures into ``outdir``: PR curve (with scores), F1 per preset, error
        histograms. Returns the paths written."""
        outdir = Path(outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        makers = [(_plot_pr, "pr_curve.png", self.pr_curve is not None),
                  (_plot_f1, "f1_by_preset.png", self.has_detections),
                  (_plot_diameter, "diameter_errors.png", self.errors["diameter_rel"].size > 0),
                  (_plot_position, "position_errors.png", self.errors["position_px"].size > 0)]
        written = []
        for make, name, wanted in makers:
            if wanted:
                fig = _figure()
                make(fig.add_subplot(), self)
                fig.tight_layout()
                fig.savefig(outdir / name, dpi=110)
                written.append(outdir / name)
        return written


# --- text tables ------------------------------------------------------------------------------


def _num(v, fmt="{:.3f}") -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v)


def _with_ci(s: dict, key: str) -> str:
    lo, hi = s.get(f"{key}_ci", (math.nan, math.nan))
    # One photo has no spread to resample: its zero-width interval would mislead.
    ci = "" if math.isnan(lo) or s["n_photos"] < 2 else f" [{lo:.3f}, {hi:.3f}]"
    return _num(s.get(key)) + ci


def _score_cells(name: str, s: dict) -> list[str]:
    return [name, str(s["n_photos"]), str(s["n_true"]), str(s["n_pred"]),
            _with_ci(s, "precision"), _with_ci(s, "recall"), _with_ci(s, "f1"),
            _num(s["diameter_bias_rel"] * 100, "{:+.1f} %"),
            _num(s["diameter_median_abs_rel"] * 100, "{:.1f} %"),
            _num(s["position_rmse_px"], "{:.2f}")]


def _text_table(head: list[str], rows: list[list[str]]) -> str:
    cells = [head, *rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    # First column (names) left-aligned, numbers right-aligned.
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths))) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _detection_table(ev: Evaluation) -> str:
    head = ["preset", "photos", "true", "found", "precision [95% CI]", "recall [95% CI]",
            "F1 [95% CI]", "diam bias", "diam |err|", "pos RMSE px"]
    rows = [_score_cells(k, v) for k, v in ev.presets.items()]
    rows.append(_score_cells("all", ev.overall))
    m = ev.meta
    ci = (f"CI: bootstrap over photos ({m['n_boot']} resamples)" if m["n_boot"] else
          "no CI (n_boot=0)")
    title = (f"Detection: {m['n_photos']} photos, {m['border_mm']:g} mm border ignored; {ci}. "
             f"diam bias / |err|: median (found - true) / true diameter and its absolute value.")
    return title + "\n" + _text_table(head, rows)


def _verdict_table(verdicts: dict) -> str:
    head = ["criterion", "agree", "fails caught", "false fails",
            "expected -> predicted pass/warn/fail/n.a."]
    rows = []
    for c, v in verdicts.items():
        matrix = " | ".join(f"{e} " + "/".join(str(v["matrix"][e][s]) for s in PREDICTED)
                            for e in EXPECTED if sum(v["matrix"][e].values()))
        rows.append([c, f"{v['agree']}/{v['n']}", f"{v['fails_caught']}/{v['n_expected_fail']}",
                     f"{v['false_fails']}/{v['n_expected_pass_or_warn']}", matrix])
    title = ("Verdict agreement (expected from the preset vs predicted; pass_or_warn agrees with "
             "pass or warn)")
    return title + "\n" + _text_table(head, rows)


# --- figures ----------------------------------------------------------------------------------


def _figure():
    # An Agg canvas of its own: no pyplot, so the caller's backend and figures are untouched.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 4.2))
    FigureCanvasAgg(fig)
    return fig


def _plot_pr(ax, ev: Evaluation) -> None:
    c = ev.pr_curve
    ax.plot(c["recall"], c["precision"], "o-", ms=3)
    ax.plot(c["recall"][0], c["precision"][0], "s", color="C3",
            label="every detection (lowest threshold)")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.02),
           title="Precision-recall as the score threshold rises")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")


def _plot_f1(ax, ev: Evaluation) -> None:
    names = list(ev.presets)
    f1 = np.array([ev.presets[k]["f1"] for k in names])
    ci = np.array([ev.presets[k]["f1_ci"] for k in names], float).reshape(-1, 2)
    # Percentile intervals need not contain the estimate; clip so the bars stay drawable.
    err = np.nan_to_num(np.clip(np.stack([f1 - ci[:, 0], ci[:, 1] - f1]), 0, None))
    ax.bar(range(len(names)), f1, yerr=err, capsize=3, color="C0")
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
    ax.set(ylabel="F1 (95 % CI)", ylim=(0, 1.05), title="Detection F1 per preset")


def _plot_diameter(ax, ev: Evaluation) -> None:
    e = ev.errors["diameter_rel"] * 100
    ax.hist(np.clip(e, -100, 100), bins=60, color="C0")
    ax.axvline(np.median(e), color="C3", label=f"median {np.median(e):+.1f} %")
    ax.set(xlabel="diameter error, % of the true diameter (clipped to +-100)",
           ylabel="matched dots", title="Diameter errors")
    ax.legend()


def _plot_position(ax, ev: Evaluation) -> None:
    e = ev.errors["position_px"]
    ax.hist(e, bins=50, color="C0")
    rmse = float(np.sqrt(np.mean(e**2)))
    ax.axvline(rmse, color="C3", label=f"RMSE {rmse:.2f} px")
    ax.set(xlabel="distance between matched centres, px", ylabel="matched dots",
           title="Position errors")
    ax.legend()


def _flat(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if k in ("expected", "predicted"):
            for c in CRITERIA:
                out[f"{k}_{c}"] = v[c] if v else None
        elif k.endswith("_ci"):
            out[f"{k[:-3]}_lo"], out[f"{k[:-3]}_hi"] = v
        else:
            out[k] = v
    return out


def _cell(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return v


def _json_safe(obj):
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


# --- entry point ------------------------------------------------------------------------------


def evaluate(truth_dir, pred_dir=None, *, run=None, images_dir=None, px_per_mm=None,
             pixel_offset=None, profile=None, view=None, n_boot=1000, seed=0,
             border_mm=BORDER_MM, progress=False) -> Evaluation:
    """Score detections (and verdicts) against truth.

    Parameters
    ----------
    truth_dir : str or os.PathLike
        A data set folder (``manifest.csv``, see :func:`make_dataset`), or an
        annotation file/folder of real photos (CSV, COCO keypoints or VIA;
        see :func:`load_annotations`).
    pred_dir : str or os.PathLike, optional
        Folder of ``<stem>.csv`` detections (columns x, y[, diameter_px]
        [, score]; ``smpqa analyze --csv`` output works) and/or ``<stem>.json``
        analyses (:meth:`Analysis.to_dict` format), or a ``smpqa batch`` output
        folder (verdicts only). Give this or ``run``.
    run : {"smpqa"}, optional
        Analyse every photo with smpqa instead (detections, with ``snr`` as
        score, and verdicts), at the truth's scale. A simulated photo whose
        truth records a printed marker is analysed with that marker, so its
        paper is not judged as bare skin.
    images_dir : str or os.PathLike, optional
        Photos of an annotation file (needed for ``run``; otherwise used for
        the photo size and scale of the 1 mm border).
    px_per_mm : float, optional
        Scale of annotated photos (else their metadata; without a scale the
        border is not excluded).
    pixel_offset : float, optional
        Shift of annotation coordinates (default per format, see
        :mod:`smpqa.research.annotations`).
    profile : Profile, path or dict, optional
        Thresholds for ``run="smpqa"``.
    view : {None, "front"}
        View for ``run="smpqa"``, for every photo; without it, each simulated
        photo is analysed with the view its scene records (``Scene.view``:
        ``"front"`` for ``asymmetric_hairline``), the others with none.
    n_boot : int
        Bootstrap resamples for the confidence intervals (0: none).
    seed : int
        Seed of the bootstrap.
    border_mm : float
        Ignored border (the contract's 1 mm).
    progress : bool
        Progress bar while ``run`` analyses photos.

    Returns
    -------
    Evaluation

    Raises
    ------
    EvaluationError, DatasetError, AnnotationError
        Missing or malformed truth or predictions.
    """
    if (pred_dir is None) == (run is None):
        raise EvaluationError("give either pred_dir or run='smpqa'")
    if run not in (None, "smpqa"):
        raise EvaluationError(f"run must be 'smpqa', got {run!r}")
    if run is None and (profile is not None or view is not None):
        raise EvaluationError("profile and view apply to run='smpqa' only; for predictions "
                              "made elsewhere, pass them to the tool that made them")
    if not (is_integer(n_boot) and n_boot >= 0):
        raise EvaluationError(f"n_boot must be an integer >= 0, got {n_boot!r}")
    if not (is_integer(seed) and seed >= 0):
        raise EvaluationError(f"seed must be an integer >= 0, got {seed!r}")
    if px_per_mm is not None and not (is_finite_real(px_per_mm) and px_per_mm > 0):
        raise EvaluationError(f"px_per_mm must be a positive number, got {px_per_mm!r}")
    if pixel_offset is not None and not is_finite_real(pixel_offset):
        raise EvaluationError(f"pixel_offset must be a finite number, got {pixel_offset!r}")
    truths = _load_truth(truth_dir, images_dir, px_per_mm, pixel_offset)
    preds = (_preds_from_smpqa(truths, profile, view, progress) if run else
             _preds_from_dir(Path(pred_dir), truths))
    pairs = [_photo_row(t, p, border_mm) for t, p in zip(truths, preds)]
    rows, arrays = [r for r, _ in pairs], [a for _, a in pairs]
    groups = {}
    for r, a in pairs:
        groups.setdefault(r["preset"], ([], []))
        groups[r["preset"]][0].append(r)
        groups[r["preset"]][1].append(a)
    meta = {"truth": str(truth_dir), "predictions": f"run={run}" if run else str(pred_dir),
            "n_photos": len(rows), "n_boot": n_boot, "seed": seed, "border_mm": border_mm,
            "confidence": 0.95, "matching": "one-to-one, closest first, within max(2 px, "
            "half the true diameter)", "profile": _profile_name(profile), "view": view}
    return Evaluation(
        photos=tuple(rows),
        presets={k: _summarise(k, rs, arr, n_boot, seed) for k, (rs, arr) in groups.items()},
        overall=_summarise("all", rows, arrays, n_boot, seed),
        verdicts=_confusion(rows),
        pr_curve=None if preds[0].x is None else _pr_curve(truths, preds, border_mm),
        meta=meta,
        errors={k: np.concatenate([a[k] for a in arrays]) for k in arrays[0]})


def _profile_name(profile):
    if profile is None:
        return None
    if isinstance(profile, (str, os.PathLike)):
        return str(profile)
    return getattr(profile, "source", None) or "custom"
