"""Settings of the dot detector, grouped in one frozen dataclass."""

from __future__ import annotations

from dataclasses import dataclass

from .._numbers import is_finite_real, is_integer

__all__ = ["DetectParams"]


@dataclass(frozen=True, slots=True)
class DetectParams:
    """Advanced settings of :func:`smpqa.detect_dots`; the defaults suit phone macro photos.

    Parameters
    ----------
    min_contrast : float
        Smallest relative darkening (1 - dot/skin luminance) of a dot, both
        at its seed (after light smoothing) and over its measured disc. Faded
        work still darkens skin by about 25 %; skin texture and pores by less
        than 8 %.
    min_snr : float
        Smallest peak darkening in units of the photo's noise.
    saddle : float
        Two seeds are one dot when the darkening between them never falls
        below this fraction of the weaker peak.
    max_elongation : float
        Shapes more elongated than this (major/minor axis ratio) are lines,
        such as stubble hairs, not dots (unless a dot's mass remains beside
        the lines through them: a dot under a hair).
    merge_elongation : float
        Shapes at least this elongated (and at most ``max_elongation``) are
        taken as two merged dots and split.
    background_block : int or None
        Side, px, of the blocks over which the skin level is estimated;
        None picks 1.25 x the largest expected dot diameter (at least 16 px).
    blur_px : float or None
        Optical blur (Gaussian sigma, px) to correct diameters for; None
        estimates it from the photo.
    remove_glare : bool
        Take white glare out of the photo before the dots are found and
        measured (docs/detection.md, step 1a). White objects in the photo
        (paper, a printed marker) look like glare to that step.
    """

    min_contrast: float = 0.10
    min_snr: float = 5.0
    saddle: float = 0.8
    max_elongation: float = 2.6
    merge_elongation: float = 1.5
    background_block: int | None = None
    blur_px: float | None = None
    remove_glare: bool = True

    def __post_init__(self):
        for name in ("min_contrast", "min_snr", "saddle", "max_elongation", "merge_elongation"):
            v = getattr(self, name)
            if not (is_finite_real(v) and v > 0):
                raise ValueError(f"DetectParams.{name} must be a positive number, got {v!r}")
        if not 0 < self.saddle < 1:
            raise ValueError("DetectParams.saddle must be within (0, 1)")
        if self.merge_elongation >= self.max_elongation:
            raise ValueError("DetectParams.merge_elongation must be below max_elongation")
        b = self.background_block
        if b is not None and not (is_integer(b) and b >= 4):
            raise ValueError(f"DetectParams.background_block must be an integer >= 4 px, "
                             f"got {b!r}")
        if self.blur_px is not None and not (is_finite_real(self.blur_px) and self.blur_px >= 0):
            raise ValueError(f"DetectParams.blur_px must be a number >= 0, got {self.blur_px!r}")
        if not isinstance(self.remove_glare, bool):
            raise ValueError(f"DetectParams.remove_glare must be True or False, "
                             f"got {self.remove_glare!r}")
