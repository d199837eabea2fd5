"""smpqa: quality audit of scalp micropigmentation (SMP) work from photographs."""

from .detect import DetectParams, DotTable, detect_dots
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
    "detect_dots",
    "DetectParams",
    "DotTable",
    "SmpqaError",
    "ImageError",
    "CalibrationError",
    "ProfileError",
    "RegionError",
    "SmpqaWarning",
]
