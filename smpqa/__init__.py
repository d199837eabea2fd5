"""smpqa: quality audit of scalp micropigmentation (SMP) work from photographs.

Public API: :func:`load_image`, :func:`detect_dots` (-> :class:`DotTable`),
:func:`analyze` (-> :class:`Analysis` with :class:`Verdict` per criterion,
judged against a :class:`Profile`; the scale may come from a printed
:class:`Marker`). The simulator (:mod:`smpqa.synth`), the
HTML report (:mod:`smpqa.report`) and batch audits (:mod:`smpqa.batch`) are
modules of their own.
"""

__version__ = "0.1.0"  # defined first: submodules record it in their results

import importlib
from typing import TYPE_CHECKING

from .errors import (  # noqa: E402  (light: no numerical libraries)
    CalibrationError,
    ImageError,
    ProfileError,
    RegionError,
    SmpqaError,
    SmpqaWarning,
)

# The numerical parts load on first use, so that ``import smpqa`` (and the CLI's --help)
# does not pay for numba, SciPy and OpenCV up front.
_LAZY = {
    "analyze": ".analysis", "Analysis": ".analysis", "Marker": ".calibrate",
    "detect_dots": ".detect", "DetectParams": ".detect", "DotTable": ".detect",
    "load_image": ".io", "Profile": ".profile", "Verdict": ".profile",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .analysis import Analysis, analyze
    from .calibrate import Marker
    from .detect import DetectParams, DotTable, detect_dots
    from .io import load_image
    from .profile import Profile, Verdict


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'smpqa' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


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
