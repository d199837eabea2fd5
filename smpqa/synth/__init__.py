"""Simulated scalp-micropigmentation photos with exact ground truth.

No public data set of SMP photos exists, so smpqa's tests, benchmarks and
demo stand on this simulator. A :class:`Scene` holds every parameter in
physical units; :func:`render` turns it into a photo plus truth;
:func:`preset` names good work and each failure mode.
"""

from .. import _numba_cache  # noqa: F401  (first: somewhere to cache the kernels)
from .files import truth_paths, write
from .presets import PHOTO_SIZES, PRESETS, preset, preset_names
from .render import DOT_KINDS, SynthPhoto, pigment_cast_delta_e, render
from .scene import Clutter, Hairline, PrintedMarker, Scene

__all__ = [
    "Scene", "Hairline", "Clutter", "PrintedMarker", "render", "SynthPhoto", "DOT_KINDS",
    "PRESETS", "PHOTO_SIZES", "preset", "preset_names", "write", "truth_paths",
    "pigment_cast_delta_e",
]
