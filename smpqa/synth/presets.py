"""Named scenes: good work on three skin tones, every failure mode, and hard conditions."""

from __future__ import annotations

from .._sizes import PHOTO_SIZES  # (defined apart: the command line reads it on start)
from .scene import Clutter, Hairline, PrintedMarker, Scene

__all__ = ["PRESETS", "PHOTO_SIZES", "preset", "preset_names"]


_LIGHT = (72.0, 12.0, 16.0)
_MEDIUM = (55.0, 14.0, 22.0)
_DARK = (38.0, 12.0, 18.0)
_SOFT_TOP = Hairline(side="top", position=0.3, width_mm=7.0, irregularity_mm=0.8)

# name -> (one-line description, expected failing criteria, parameters)
PRESETS: dict[str, tuple[str, tuple[str, ...], dict]] = {
    "good_light": ("even, well-matched work on light skin with a soft hairline", (),
                   dict(skin_lab=_LIGHT, pigment_lab=(30.0, 0.0, 0.0), hairline=_SOFT_TOP)),
    "good_medium": ("even work on medium skin, crown view (no hairline)", (),
                    dict(skin_lab=_MEDIUM, pigment_lab=(24.0, 0.0, 0.0))),
    "good_dark": ("even work on dark skin, hairline on the left, tilted", (),
                  dict(skin_lab=_DARK, pigment_lab=(18.0, 0.0, 0.0),
                       hairline=Hairline(side="left", position=0.25, width_mm=6.0,
                                         tilt_deg=8.0))),
    "good_stubble": ("good work among dense stubble hairs", (),
                     dict(skin_lab=_LIGHT, clutter=Clutter(hair_density_per_cm2=60.0))),
    "good_glare": ("good work under glare and strong uneven light", (),
                   dict(skin_lab=_MEDIUM, pigment_lab=(24.0, 0.0, 0.0),
                        clutter=Clutter(glare_spots=4, illumination_gradient=0.5, vignette=0.3))),
    "good_jpeg75": ("good work, noisy phone photo at JPEG quality 75", (),
                    dict(clutter=Clutter(jpeg_quality=75, noise=3.0, blur_px=0.9))),
    "good_lowres": ("good work photographed at 12 px/mm", (),
                    dict(px_per_mm=12.0)),
    "good_marker": ("good work on medium skin with a 10 mm printed ArUco marker for scale", (),
                    dict(skin_lab=_MEDIUM, pigment_lab=(24.0, 0.0, 0.0),
                         marker=PrintedMarker(side_mm=10.0, centre=(0.15, 0.8),
                                              rotation_deg=12.0))),
    "oversized": ("dots 2.7x too large (0.8 mm)", ("size",),
                  dict(dot_diameter_mm=0.80, density_per_cm2=40.0)),
    "uneven_size": ("dots of very uneven size", ("size",),
                    dict(dot_diameter_spread=0.55, density_per_cm2=70.0)),
    "too_dark": ("jet-black pigment on light skin", ("darkness",),
                 dict(pigment_lab=(8.0, 0.0, 0.0), opacity=0.98, opacity_spread=0.01)),
    "faded": ("faded work: pigment at 30% opacity", ("darkness",),
              dict(opacity=0.30, opacity_spread=0.03)),
    "blue_cast": ("pigment with a blue cast", ("colour",),
                  dict(pigment_lab=(30.0, 0.0, -16.0))),
    "green_cast": ("pigment with a green cast", ("colour",),
                   dict(pigment_lab=(30.0, -12.0, 0.0))),
    "patchy": ("patchy density: dense patches beside bare ones", ("uniformity",),
               dict(patchiness=1.4, patch_scale_mm=4.0)),
    "hard_hairline": ("ruler-straight, hard hairline", ("hairline",),
                      dict(hairline=Hairline(side="top", position=0.3, width_mm=0.5,
                                             irregularity_mm=0.05))),
    "asymmetric_hairline": ("lopsided hairline: one temple 8 mm further back (front view)",
                            ("hairline",),
                            dict(hairline=Hairline(side="top", position=0.3, width_mm=7.0,
                                                   asymmetry_mm=8.0), view="front")),
    "blowout": ("ink migration: a third of the dots have blurred halos", ("blowout",),
                dict(blowout_fraction=0.35, blowout_spread=1.0, blowout_strength=0.35)),
    "merged": ("merged twin dots", ("blowout",),
               dict(merged_fraction=0.30)),
    "botched": ("everything at once: oversized, jet-black, patchy, blown-out, hard edge",
                ("size", "darkness", "uniformity", "blowout"),
                dict(dot_diameter_mm=0.9, dot_diameter_spread=0.45, density_per_cm2=45.0,
                     pigment_lab=(10.0, 0.0, -4.0), opacity=0.97, opacity_spread=0.02,
                     patchiness=1.0, patch_scale_mm=5.0, clusters=4, blowout_fraction=0.3,
                     merged_fraction=0.15,
                     hairline=Hairline(side="top", position=0.25, width_mm=0.5,
                                       irregularity_mm=0.1))),
}


def preset_names() -> list[str]:
    """Names of every preset, good work first."""
    return list(PRESETS)


def preset(name: str, **overrides) -> Scene:
    """Return the :class:`Scene` of a named preset, with optional parameter overrides.

    Parameters
    ----------
    name : str
        One of :func:`preset_names`.
    **overrides
        Any :class:`Scene` field (``hairline``/``clutter``/``marker`` may be
        dicts of their own fields to change).

    Returns
    -------
    Scene

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).

    Examples
    --------
    >>> from smpqa.synth import preset
    >>> preset("oversized", seed=3).dot_diameter_mm
    0.8
    """
    try:
        params = dict(PRESETS[name][2])
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}") from None
    for key in ("hairline", "clutter", "marker"):
        if isinstance(overrides.get(key), dict):
            # Only the marker may be None: a dict then describes a marker from its defaults.
            base = params.get(key, getattr(Scene(), key)) or PrintedMarker()
            overrides[key] = type(base)(**{**_fields(base), **overrides[key]})
    params.update(overrides)
    return Scene(**params)


def _fields(obj) -> dict:
    return {f: getattr(obj, f) for f in obj.__dataclass_fields__}
