"""Exception and warning classes shared by every part of smpqa.

Every error smpqa raises on bad input is a :class:`SmpqaError`, itself a
:class:`ValueError`, so ``except ValueError`` keeps working for callers that
do not care about the finer classes.
"""

from __future__ import annotations

__all__ = [
    "SmpqaError",
    "ImageError",
    "CalibrationError",
    "ProfileError",
    "RegionError",
    "SmpqaWarning",
]


class SmpqaError(ValueError):
    """Base class of every error smpqa raises on bad input."""


class ImageError(SmpqaError):
    """A photo cannot be read or is unusable; the message names the file and the reason."""


class CalibrationError(SmpqaError):
    """The physical scale (pixels per millimetre) is missing or invalid."""


class ProfileError(SmpqaError):
    """A threshold profile is malformed."""


class RegionError(SmpqaError):
    """A region of interest (mask or polygon) is malformed."""


class SmpqaWarning(UserWarning):
    """The one warning class smpqa emits (e.g. results of reduced reliability)."""
