"""smpqa: quality audit of scalp micropigmentation (SMP) work from photographs.

Public API: :func:`load_image`, :func:`detect_dots` (-> :class:`DotTable`),
:func:`analyze` (-> :class:`Analysis` with :class:`Verdict` per criterion,
judged against a :class:`Profile`; the scale may come from a printed
:class:`Marker`). The simulator (:mod:`smpqa.synth`), the
HTML report (:mod:`smpqa.report`) and batch audits (:mod:`smpqa.batch`) are
modules of their own.
"""

__version__ = "0.1.0"  # defined first: submodules record it in their results

from .analysis import Analysis, analyze  # noqa: E402
from .calibrate import Marker  # noqa: E402
from .detect import DetectParams, DotTable, detect_dots  # noqa: E402
from .errors import (  # noqa: E402
    CalibrationError,
    ImageError,
    ProfileError,
    RegionError,
    SmpqaError,
    SmpqaWarning,
)
from .io import load_image  # noqa: E402
from .profile import Profile, Verdict  # noqa: E402

__all__ = [
    "__version__",
    "load_image",
    "detect_dots",
    "DetectParams",
    "DotTable",
    "analyze",
    "Analysis",
    "Marker",
    "Profile",
    "Verdict",
    "SmpqaError",
    "ImageError",
    "CalibrationError",
    "ProfileError",
    "RegionError",
    "SmpqaWarning",
]
