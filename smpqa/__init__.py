"""smpqa: quality audit of scalp micropigmentation (SMP) work from photographs."""

from .errors import (
    CalibrationError,
    ImageError,
    ProfileError,
    RegionError,
    SmpqaError,
    SmpqaWarning,
)
from .io import load_image

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "load_image",
    "SmpqaError",
    "ImageError",
    "CalibrationError",
    "ProfileError",
    "RegionError",
    "SmpqaWarning",
]
