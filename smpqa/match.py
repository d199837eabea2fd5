"""Matching detected dots to true dots, and the scores that follow (docs/contracts.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["match_dots", "MatchScore"]


@dataclass(frozen=True, slots=True)
class MatchScore:
    """Detection scores of one photo.

    Attributes
    ----------
    tp, fp, fn : int
        Matched pairs, unmatched detections, unmatched true dots (border excluded).
    precision, recall, f1 : float
    diameter_rel_error : numpy.ndarray
        (detected - true) / true diameter, per matched pair.
    diameter_abs_error_px : numpy.ndarray
        detected - true diameter in px, per matched pair.
    position_error_px : numpy.ndarray
        Distance between matched centres, px.
    pairs : numpy.ndarray
        (n, 2) indices (detection, truth) of the matched pairs.
    """

    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float
    diameter_rel_error: np.ndarray
    diameter_abs_error_px: np.ndarray
    position_error_px: np.ndarray
    pairs: np.ndarray

    @property
    def position_rmse_px(self) -> float:
        e = self.position_error_px
        return float(np.sqrt(np.mean(e**2))) if e.size else float("nan")

    @property
    def median_abs_rel_diameter_error(self) -> float:
        e = self.diameter_rel_error
        return float(np.median(np.abs(e))) if e.size else float("nan")


def match_dots(pred_x, pred_y, true_x, true_y, true_diameter_px, *, pred_diameter_px=None,
               shape=None, border_px=0.0) -> MatchScore:
    """Match detections to truth one-to-one, closest pairs first.

    A pair may form only within max(2 px, half the true diameter). Dots whose
    true (or, unmatched, detected) centre lies within ``border_px`` of the
    image edge are left out of the counts.

    Parameters
    ----------
    pred_x, pred_y : array_like
        Detected centres, px.
    true_x, true_y, true_diameter_px : array_like
        True centres and disc diameters, px.
    pred_diameter_px : array_like, optional
        Detected diameters, for the diameter errors.
    shape : (int, int), optional
        Image (height, width); needed when ``border_px > 0``.
    border_px : float
        Width of the ignored border (the contract uses 1 mm).

    Returns
    -------
    MatchScore
    """
    px, py = np.asarray(pred_x, float), np.asarray(pred_y, float)
    tx, ty = np.asarray(true_x, float), np.asarray(true_y, float)
    td = np.asarray(true_diameter_px, float)
    reach = np.maximum(2.0, td / 2)
    pairs = np.zeros((0, 2), int)
    if px.size and tx.size:
        from scipy.spatial import cKDTree  # here: SciPy's spatial package takes ~0.4 s to import

        tree = cKDTree(np.stack([px, py], 1))
        cand = tree.query_ball_point(np.stack([tx, ty], 1), reach)
        ti = np.repeat(np.arange(tx.size), [len(c) for c in cand])
        pi = np.fromiter((j for c in cand for j in c), int, ti.size)
        dist = np.hypot(px[pi] - tx[ti], py[pi] - ty[ti])
        used_p = np.zeros(px.size, bool)
        used_t = np.zeros(tx.size, bool)
        keep = []
        for k in np.argsort(dist, kind="stable"):
            if not used_p[pi[k]] and not used_t[ti[k]]:
                used_p[pi[k]] = used_t[ti[k]] = True
                keep.append((pi[k], ti[k]))
        pairs = np.array(keep, int).reshape(-1, 2)

    def inside(x, y):
        if border_px <= 0:
            return np.ones(x.size, bool)
        h, w = shape
        b = border_px
        return (x >= b - 0.5) & (x <= w - 0.5 - b) & (y >= b - 0.5) & (y <= h - 0.5 - b)

    t_in, p_in = inside(tx, ty), inside(px, py)
    # A detection matched to a border truth dot is neither right nor wrong.
    matched_p = np.zeros(px.size, bool)
    matched_p[pairs[:, 0]] = True
    pairs = pairs[t_in[pairs[:, 1]]]
    matched_t = np.zeros(tx.size, bool)
    matched_t[pairs[:, 1]] = True
    tp = len(pairs)
    fp = int((p_in & ~matched_p).sum())
    fn = int((t_in & ~matched_t).sum())
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    pe = np.hypot(px[pairs[:, 0]] - tx[pairs[:, 1]], py[pairs[:, 0]] - ty[pairs[:, 1]])
    if pred_diameter_px is not None and tp:
        pd = np.asarray(pred_diameter_px, float)[pairs[:, 0]]
        da = pd - td[pairs[:, 1]]
        dr = da / td[pairs[:, 1]]
    else:
        da = dr = np.zeros(0)
    return MatchScore(tp, fp, fn, prec, rec, f1, dr, da, pe, pairs)
