"""Parameters of a simulated SMP photo, in physical units."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .._numbers import is_finite_real, is_integer

__all__ = ["Scene", "Hairline", "Clutter", "PrintedMarker"]

_SIDES = ("none", "top", "bottom", "left", "right")


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise ValueError(msg)


def _check_numbers(obj, skip=()) -> None:
    """Each field of ``obj`` whose default is a number or numbers holds such, all finite.

    An integer where the default is one (a count, a size in pixels, a seed), a finite
    real number where it is a float, and as many finite numbers as the default has where it
    is a tuple of floats (a list is taken and kept as a tuple). Raises a ValueError naming
    the field; the range checks follow in each ``__post_init__``.
    """
    what = type(obj).__name__
    for f in dataclasses.fields(obj):
        v, d = getattr(obj, f.name), f.default
        if f.name in skip or isinstance(d, bool):
            continue
        if isinstance(d, int):
            _check(is_integer(v), f"{what}.{f.name} must be an integer, got {v!r}")
        elif isinstance(d, float):
            _check(is_finite_real(v), f"{what}.{f.name} must be a finite number, got {v!r}")
        elif isinstance(d, tuple) and all(isinstance(x, float) for x in d):
            _check(isinstance(v, (tuple, list)) and len(v) == len(d)
                   and all(is_finite_real(x) for x in v),
                   f"{what}.{f.name} must be {len(d)} finite numbers, got {v!r}")
            object.__setattr__(obj, f.name, tuple(float(x) for x in v))


@dataclass(frozen=True, slots=True)
class Hairline:
    """The front edge of the work.

    Parameters
    ----------
    side : {"none", "top", "bottom", "left", "right"}
        The side of the photo where bare skin lies beyond the edge; "none"
        fills the whole frame with work.
    position : float
        Where the edge's 50 % line crosses the frame, as a fraction of the
        frame's extent across the edge, measured from ``side``.
    width_mm : float
        10–90 % width of the density fall-off, measured normal to the edge.
        0 gives a hard, "wall" edge.
    irregularity_mm : float
        RMS of the random wiggle of the 50 % line about its smooth course.
    wiggle_scale_mm : float
        Correlation length of that wiggle along the edge.
    tilt_deg : float
        Rotation of the edge in the photo, degrees.
    asymmetry_mm : float
        Left/right asymmetry: the edge sits this much further back at 40 % of
        the frame's length right of centre than at 40 % left of centre.
    curvature_mm : float
        How far the edge recedes at the frame's ends relative to its centre
        (a parabolic temple recession).
    """

    side: str = "none"
    position: float = 0.3
    width_mm: float = 7.0
    irregularity_mm: float = 0.8
    wiggle_scale_mm: float = 3.0
    tilt_deg: float = 0.0
    asymmetry_mm: float = 0.0
    curvature_mm: float = 0.0

    def __post_init__(self):
        _check_numbers(self)
        _check(self.side in _SIDES, f"hairline side must be one of {_SIDES}, got {self.side!r}")
        _check(0.0 <= self.position <= 1.0, "hairline position must be in [0, 1]")
        _check(self.width_mm >= 0 and self.irregularity_mm >= 0, "hairline widths must be >= 0")
        _check(self.wiggle_scale_mm > 0, "wiggle_scale_mm must be > 0")
        _check(abs(self.tilt_deg) < 60, "tilt_deg must be within +-60 degrees")


@dataclass(frozen=True, slots=True)
class Clutter:
    """Things in a photo that are not pigment, and the camera's faults.

    Densities are per cm² of scalp; sizes in mm; ``noise`` in 8-bit levels.
    """

    pore_density_per_cm2: float = 25.0
    pore_diameter_mm: float = 0.09
    pore_opacity: float = 0.10
    hair_density_per_cm2: float = 0.0
    hair_length_mm: float = 1.2
    hair_width_mm: float = 0.07
    hair_lab: tuple[float, float, float] = (28.0, 2.0, 3.0)
    hair_opacity: float = 0.80
    freckle_density_per_cm2: float = 0.05
    glare_spots: int = 0
    glare_strength: float = 0.6
    illumination_gradient: float = 0.2
    vignette: float = 0.15
    skin_texture: float = 0.03
    blur_px: float = 0.7
    noise: float = 1.5
    jpeg_quality: int | None = 92

    def __post_init__(self):
        _check_numbers(self, skip=("jpeg_quality",))
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name != "jpeg_quality" and not isinstance(v, tuple):
                _check(v >= 0, f"clutter {f.name} must be >= 0")
        q = self.jpeg_quality
        _check(q is None or (is_integer(q) and 1 <= q <= 100),
               f"jpeg_quality must be None or an integer within 1..100, got {q!r}")


@dataclass(frozen=True, slots=True)
class PrintedMarker:
    """A printed ArUco marker lying flat on the scalp, for calibration by scale.

    The print is the marker (its black square of ``side_mm``) with a white
    margin one module wide all round, opaque paper (white L* 95, black L* 10)
    that hides the skin and the dots under it.

    Parameters
    ----------
    side_mm : float
        Side of the black square, mm.
    id : int
        Marker id in ``dictionary``.
    dictionary : str
        A ``cv2.aruco`` predefined dictionary name.
    centre : (float, float)
        The marker's centre as fractions of the frame's width and height.
        Along each axis on which the print fits in the frame, the centre is
        moved inward as far as needed for all of the print to lie in it, so
        a preset's marker stays whole in a small photo.
    rotation_deg : float
        In-plane rotation, degrees.
    tilt_deg : float
        Tilt of the print towards the camera about its own horizontal axis,
        0 to 60 degrees: foreshortens that axis by cos(tilt) and adds the
        mild keystone of a camera 150 mm away.
    """

    side_mm: float = 10.0
    id: int = 0
    dictionary: str = "DICT_4X4_50"
    centre: tuple[float, float] = (0.15, 0.85)
    rotation_deg: float = 0.0
    tilt_deg: float = 0.0

    def __post_init__(self):
        from ..calibrate import Marker  # validates the side, the dictionary and the id

        _check(self.id is not None, "a printed marker needs an id")
        _check_numbers(self, skip=("id",))
        Marker(side_mm=self.side_mm, dictionary=self.dictionary, id=self.id)
        # (_check_numbers made the centre a tuple of two finite numbers, from a JSON list too.)
        _check(all(0 <= v <= 1 for v in self.centre),
               "marker centre must be two fractions of the frame within [0, 1]")
        _check(0 <= self.tilt_deg < 60, "marker tilt_deg must be within [0, 60)")


@dataclass(frozen=True, slots=True)
class Scene:
    """Everything that defines one simulated photo.

    Parameters
    ----------
    width_px, height_px : int
        Photo size in pixels.
    px_per_mm : float
        Scale at the scalp.
    dot_diameter_mm : float
        Median diameter of the pigment discs.
    dot_diameter_spread : float
        Standard deviation of log(diameter); 0.1 is even work.
    density_per_cm2 : float
        Dots per cm² in fully worked areas (before patchiness and hairline).
    jitter : float
        Positional randomness: 0 is a perfect hexagonal lattice, ~0.5 looks
        random at short range (work layered over several sessions).
    skin_lab, pigment_lab : tuple of float
        CIE L*a*b* (D65) of the bare skin and of the pigment itself.
    opacity, opacity_spread : float
        Mean and standard deviation of the per-dot pigment opacity (0–1).
    patchiness, patch_scale_mm : float
        Amplitude (log-density standard deviation) and length scale of a
        smooth random density field: 0 is even work.
    clusters, cluster_radius_mm, cluster_density_factor : int, float, float
        Over-worked spots: extra dots, larger and more opaque, packed at this
        factor times the nominal density.
    blowout_fraction, blowout_spread, blowout_strength : float
        Share of dots with an ink-migration halo, the halo's extent as a
        multiple of the dot radius, and its opacity relative to the dot's.
    merged_fraction : float
        Share of dots that come as overlapping twins (both kind "merged").
    hairline : Hairline
    clutter : Clutter
    seed : int
    marker : PrintedMarker or None
        A printed calibration marker on the scalp; ``None`` (the default)
        draws none.
    view : {None, "front"}
        How the photo was taken, as its user would tell :func:`smpqa.analyze`:
        ``"front"`` for a front view of the hairline, whose left/right
        asymmetry is then judged. Recorded in the truth; it changes nothing
        in the picture.
    """

    width_px: int = 1200
    height_px: int = 900
    px_per_mm: float = 20.0
    dot_diameter_mm: float = 0.30
    dot_diameter_spread: float = 0.10
    density_per_cm2: float = 90.0
    jitter: float = 0.22
    skin_lab: tuple[float, float, float] = (72.0, 12.0, 16.0)
    pigment_lab: tuple[float, float, float] = (30.0, 0.0, 0.0)
    opacity: float = 0.80
    opacity_spread: float = 0.04
    patchiness: float = 0.0
    patch_scale_mm: float = 6.0
    clusters: int = 0
    cluster_radius_mm: float = 3.0
    cluster_density_factor: float = 3.0
    blowout_fraction: float = 0.0
    blowout_spread: float = 1.0
    blowout_strength: float = 0.35
    merged_fraction: float = 0.0
    hairline: Hairline = Hairline()
    clutter: Clutter = Clutter()
    seed: int = 0
    marker: PrintedMarker | None = None
    view: str | None = None

    def __post_init__(self):
        _check_numbers(self)
        _check(self.view in (None, "front"), f"view must be None or 'front', got {self.view!r}")
        _check(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
        _check(8 <= self.width_px <= 20000 and 8 <= self.height_px <= 20000,
               "width_px and height_px must be within 8..20000")
        _check(1 <= self.px_per_mm <= 500,
               "px_per_mm must be within 1..500")
        _check(self.dot_diameter_mm > 0, "dot_diameter_mm must be > 0")
        _check(self.density_per_cm2 >= 0, "density_per_cm2 must be >= 0")
        _check(0 <= self.opacity <= 1, "opacity must be within [0, 1]")
        for name in ("blowout_fraction", "merged_fraction"):
            _check(0 <= getattr(self, name) <= 1, f"{name} must be within [0, 1]")
        _check(self.patch_scale_mm > 0 and self.cluster_radius_mm > 0, "scales must be > 0")
        _check(0 <= self.jitter <= 2, "jitter must be within [0, 2]")
        _check(self.marker is None or isinstance(self.marker, PrintedMarker),
               "marker must be None or a PrintedMarker")

    def replace(self, **changes) -> Scene:
        """A copy with some fields changed (``hairline``/``clutter``/``marker`` accept dicts)."""
        for key in ("hairline", "clutter", "marker"):
            if isinstance(changes.get(key), dict):
                base = getattr(self, key) or PrintedMarker()  # only the marker may be None
                changes[key] = dataclasses.replace(base, **changes[key])
        return dataclasses.replace(self, **changes)

    @property
    def width_mm(self) -> float:
        return self.width_px / self.px_per_mm

    @property
    def height_mm(self) -> float:
        return self.height_px / self.px_per_mm

    def to_dict(self) -> dict:
        """JSON-safe dictionary of every parameter."""
        return dataclasses.asdict(self)
