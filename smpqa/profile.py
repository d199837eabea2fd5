"""Threshold profiles: the limits each criterion's metrics are judged against.

A profile holds, for each of the six criteria (:data:`CRITERIA`), one
:class:`Limit` per judged metric.  :meth:`Profile.judge` turns a criterion's
measured metrics into a :class:`Verdict`: a status (:data:`STATUSES`) and
plain-English reasons.

Profiles are written as TOML or JSON, one table per criterion and one entry
per metric::

    [size]
    median_diameter_mm = {pass = 0.50, warn = 0.65}     # upper limits (pass <= warn)
    [darkness]
    depth = {pass = [0.25, 0.60], warn = [0.15, 0.70]}  # two-sided
    [hairline]
    width_mm = {pass = 5, warn = 2}                      # lower limits: "at least"
    asymmetry_mm = {pass = 2, warn = 5, enabled = false} # reported, not judged

Entries a file leaves out keep their default (:meth:`Profile.default`); a file
may also add limits for metrics the default does not judge.

Notes
-----
The direction of a one-sided limit is inferred from its numbers: ``pass <=
warn`` means upper limits, ``pass > warn`` lower limits.  A lower limit
therefore cannot have ``pass == warn`` (it would read back as an upper one);
write e.g. ``{pass = 5, warn = 4.99}`` for a lower limit without a warn band.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
import types
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from smpqa.errors import ProfileError

__all__ = [
    "CRITERIA",
    "STATUSES",
    "KINDS",
    "METRIC_LABELS",
    "Limit",
    "Verdict",
    "Profile",
    "worst",
]

CRITERIA = ("size", "darkness", "colour", "uniformity", "hairline", "blowout")
"""Criterion keys, in report order."""

STATUSES = ("not_applicable", "pass", "warn", "fail")
"""Verdict statuses, least to most severe."""

KINDS = ("upper", "lower", "two_sided")
"""Kinds of :class:`Limit`."""

_SEVERITY = {s: i for i, s in enumerate(STATUSES)}
_LIMIT_KEYS = ("pass", "warn", "enabled")
_METRIC_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

METRIC_LABELS: dict[str, tuple[str, str, str, str]] = {
    "median_diameter_mm": ("median dot diameter", "mm", "too small", "too large"),
    "robust_cv_diameter": ("dot size spread (robust CV)", "", "", "dot sizes too uneven"),
    "oversized_share": ("share of oversized dots", "", "", "too many oversized dots"),
    "depth": ("median dot depth", "", "too faint", "too dark"),
    "stubble_depth_ratio": ("dot depth relative to stubble", "", "lighter than the stubble",
                            "darker than the stubble"),
    "stubble_depth": ("median stubble-hair depth", "", "", ""),
    "n_hairs": ("stubble hair segments measured", "", "", ""),
    "cast_delta_e": ("pigment colour cast ΔE", "", "", "visible colour cast"),
    "tile_vmr": ("dot count variance-to-mean ratio", "", "", "dots clumped"),
    "coverage_cv": ("coverage variation (CV)", "", "", "patchy coverage"),
    "empty_circle_ratio": ("largest empty-gap ratio", "", "", "bare gaps"),
    "width_mm": ("hairline fall-off width", "mm", "too hard an edge", "too diffuse an edge"),
    "asymmetry_mm": ("hairline asymmetry", "mm", "", "lopsided hairline"),
    "irregularity_ratio": ("hairline irregularity over a straight edge's", "",
                           "no more irregular than a ruler-straight edge", ""),
    "blowout_share": ("share of blown-out dots", "", "", "too much blowout"),
    "density_per_cm2": ("dot density", "/cm²", "too sparse", "too dense"),
}
"""Metric -> (label, unit, word when too low, word when too high), for reasons."""

# Unit of a metric missing from METRIC_LABELS, from its name's suffix.
_UNIT_SUFFIXES = (("_per_cm2", "/cm²"), ("_mm", "mm"))

# The default profile in file form; Profile.default() parses it so it obeys the same rules.
_DEFAULT = {
    "size": {
        "median_diameter_mm": {"pass": 0.50, "warn": 0.65},
        "robust_cv_diameter": {"pass": 0.25, "warn": 0.40},
        "oversized_share": {"pass": 0.03, "warn": 0.08},
    },
    "darkness": {
        "depth": {"pass": [0.25, 0.60], "warn": [0.15, 0.70]},
        "stubble_depth_ratio": {"pass": [0.8, 1.2], "warn": [0.6, 1.4]},
    },
    "colour": {
        "cast_delta_e": {"pass": 1.5, "warn": 3.0},
    },
    "uniformity": {
        "tile_vmr": {"pass": 1.3, "warn": 2.0},
        "coverage_cv": {"pass": 0.35, "warn": 0.6},
        "empty_circle_ratio": {"pass": 5, "warn": 10},
    },
    "hairline": {
        "width_mm": {"pass": 5, "warn": 2},
        # At or below the noise floor of a straight edge the line is ruler-straight: warn only.
        "irregularity_ratio": {"pass": 1.0, "warn": 0.0},
        "asymmetry_mm": {"pass": 2, "warn": 5},
    },
    "blowout": {
        "blowout_share": {"pass": 0.05, "warn": 0.15},
    },
}


def worst(statuses: Iterable[str]) -> str:
    """The most severe of some statuses.

    Parameters
    ----------
    statuses : iterable of str
        Members of :data:`STATUSES`.

    Returns
    -------
    str
        The worst one in the order not_applicable < pass < warn < fail;
        ``"not_applicable"`` when there are none.

    Raises
    ------
    ValueError
        If a status is not one of :data:`STATUSES`.

    Examples
    --------
    >>> worst(["pass", "not_applicable", "warn"])
    'warn'
    """
    out = "not_applicable"
    for s in statuses:
        if s not in _SEVERITY:
            raise ValueError(f"unknown status {s!r}; valid statuses: {', '.join(STATUSES)}")
        out = max(out, s, key=_SEVERITY.__getitem__)
    return out


# ---------------------------------------------------------------------------------------------
# Limit


def _is_number(x) -> bool:
    # bool is an int subclass, but `pass = true` is a typo, not a limit.
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _finite(x, what: str) -> float:
    if not _is_number(x):
        raise ProfileError(f"{what} must be a number, got {x!r}")
    v = float(x)
    if not math.isfinite(v):
        raise ProfileError(f"{what} must be a finite number, got {x!r}")
    return v


def _band(x, what: str) -> tuple[float, float]:
    if isinstance(x, (str, bytes)) or not isinstance(x, (list, tuple)) or len(x) != 2:
        raise ProfileError(f"{what} must be a [low, high] pair, got {x!r}")
    lo, hi = _finite(x[0], f"{what} low end"), _finite(x[1], f"{what} high end")
    if lo > hi:
        raise ProfileError(f"{what} band [{lo:g}, {hi:g}] has its low end above its high end")
    return lo, hi


def _check_one_sided(p, w, kind: str) -> tuple[float, float]:
    p, w = _finite(p, "pass"), _finite(w, "warn")
    if kind == "upper" and p > w:
        raise ProfileError(f"upper limits need pass <= warn, got pass {p:g} > warn {w:g}")
    if kind == "lower" and p <= w:
        raise ProfileError(f"lower limits need pass > warn, got pass {p:g} <= warn {w:g}")
    return p, w


def _check_two_sided(p, w) -> tuple[tuple[float, float], tuple[float, float]]:
    p, w = _band(p, "pass"), _band(w, "warn")
    if not (w[0] <= p[0] and p[1] <= w[1]):
        raise ProfileError(f"the pass band [{p[0]:g}, {p[1]:g}] is not inside "
                           f"the warn band [{w[0]:g}, {w[1]:g}]")
    return p, w


def _infer_kind(p, w) -> str:
    p_band, w_band = isinstance(p, (list, tuple)), isinstance(w, (list, tuple))
    if p_band and w_band:
        return "two_sided"
    if p_band or w_band:
        raise ProfileError("pass and warn must both be numbers (one-sided limits) or both "
                           f"[low, high] pairs (two-sided), got pass = {p!r}, warn = {w!r}")
    p, w = _finite(p, "pass"), _finite(w, "warn")
    return "upper" if p <= w else "lower"


@dataclass(frozen=True, slots=True)
class Limit:
    """Pass and warn limits of one metric.

    Attributes
    ----------
    pass_ : float or (float, float)
        The pass limit (``pass`` in files): a number for one-sided limits,
        a ``(low, high)`` band for two-sided ones.
    warn : float or (float, float)
        The warn limit, of the same form; beyond it the metric fails.
    kind : {"upper", "lower", "two_sided"}
        ``upper``: pass if value <= pass_, warn if <= warn, else fail.
        ``lower``: pass if value >= pass_, warn if >= warn, else fail.
        ``two_sided``: pass inside the pass band, warn inside the warn band,
        else fail.  All edges are inclusive.
    enabled : bool
        False to report the metric without judging it.

    Raises
    ------
    ProfileError
        If the numbers are not finite, or do not fit ``kind`` (upper needs
        pass_ <= warn, lower pass_ > warn, two-sided a pass band inside the
        warn band).
    """

    pass_: float | tuple[float, float]
    warn: float | tuple[float, float]
    kind: str
    enabled: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ProfileError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not isinstance(self.enabled, bool):
            raise ProfileError(f"enabled must be true or false, got {self.enabled!r}")
        if self.kind == "two_sided":
            p, w = _check_two_sided(self.pass_, self.warn)
        else:
            p, w = _check_one_sided(self.pass_, self.warn, self.kind)
        # Normalised to floats and tuples so that equal limits compare (and hash) equal.
        object.__setattr__(self, "pass_", p)
        object.__setattr__(self, "warn", w)

    def __reduce__(self):
        # Explicit, because pickling frozen slotted dataclasses varies across Python versions.
        return (Limit, (self.pass_, self.warn, self.kind, self.enabled))

    @classmethod
    def parse(cls, obj, where: str) -> Limit:
        """Read a limit from its file form, e.g. ``{"pass": 0.5, "warn": 0.65}``.

        Parameters
        ----------
        obj : Mapping
            With keys ``pass`` and ``warn`` (both numbers, or both
            ``[low, high]`` pairs) and optionally ``enabled`` (bool).
        where : str
            What to call the entry in error messages, e.g.
            ``"size.median_diameter_mm"``.

        Returns
        -------
        Limit
            Upper limits when ``pass <= warn``, lower when ``pass > warn``,
            two-sided for pairs.

        Raises
        ------
        ProfileError
            Naming ``where``, for a missing or unknown key, a non-numeric or
            non-finite number, a band with low > high, a pass band outside
            the warn band, or numbers mixed with pairs.
        """
        try:
            p, w, enabled = _limit_fields(obj)
            return cls(p, w, _infer_kind(p, w), enabled)
        except ProfileError as e:
            raise ProfileError(f"{where}: {e}") from None

    def status(self, value) -> str:
        """The status of a value against these limits (``enabled`` is not consulted).

        Parameters
        ----------
        value : float or None

        Returns
        -------
        str
            ``"pass"``, ``"warn"`` or ``"fail"``; ``"not_applicable"`` for
            None, NaN or an infinite value.
        """
        if value is None or not math.isfinite(value):
            return "not_applicable"
        if self._within(self.pass_, value):
            return "pass"
        return "warn" if self._within(self.warn, value) else "fail"

    def _within(self, limit, value: float) -> bool:
        if self.kind == "upper":
            return value <= limit
        if self.kind == "lower":
            return value >= limit
        return limit[0] <= value <= limit[1]

    def to_dict(self) -> dict:
        """The file form: ``{"pass": ..., "warn": ..., "enabled": bool}`` (bands as lists)."""
        def form(x):
            return list(x) if isinstance(x, tuple) else x
        return {"pass": form(self.pass_), "warn": form(self.warn), "enabled": self.enabled}

    def describe(self, unit: str = "") -> str:
        """The limits in words, e.g. ``"≤ 0.50 pass, ≤ 0.65 warn"``.

        Parameters
        ----------
        unit : str, optional
            Appended to every number, e.g. ``"mm"``.
        """
        return f"{self._show(self.pass_, unit)} pass, {self._show(self.warn, unit)} warn"

    def _show(self, limit, unit: str) -> str:
        if self.kind == "two_sided":
            return f"{_fmt(limit[0])}–{_with_unit(_fmt(limit[1]), unit)}"
        sign = "≤" if self.kind == "upper" else "≥"
        return f"{sign} {_with_unit(_fmt(limit), unit)}"


def _limit_fields(obj) -> tuple[object, object, bool]:
    if not isinstance(obj, Mapping):
        raise ProfileError(f"expected a table like {{pass = ..., warn = ...}}, got {obj!r}")
    unknown = [k for k in obj if k not in _LIMIT_KEYS]
    if unknown:
        raise ProfileError(f"unknown key(s) {', '.join(map(repr, unknown))}; "
                           f"allowed: {', '.join(_LIMIT_KEYS)}")
    missing = [k for k in ("pass", "warn") if k not in obj]
    if missing:
        raise ProfileError(f"missing {' and '.join(map(repr, missing))}")
    return obj["pass"], obj["warn"], obj.get("enabled", True)


# ---------------------------------------------------------------------------------------------
# Wording


def _fmt(v: float) -> str:
    """A number for people: 2 decimals, 1 from 10 up, none when whole, 2 digits when tiny."""
    a = abs(v)
    if float(v).is_integer() and a < 1e15:
        return str(int(v))
    if a >= 10:
        return f"{v:.1f}"
    if a >= 0.01:
        return f"{v:.2f}"
    return f"{v:.2g}"


def _fmt_against(v: float, limit: float) -> str:
    """``_fmt(v)``, with more decimals when it would otherwise read as equal to ``limit``."""
    s, decimals = _fmt(v), 1
    # A value just past a limit must not read as the limit itself ("0.65 is above 0.65").
    while v != limit and float(s) == limit and decimals < 12:
        decimals += 1
        s = f"{v:.{decimals}f}"
    return s


def _with_unit(text: str, unit: str) -> str:
    if not unit:
        return text
    return f"{text}{unit}" if unit.startswith("/") else f"{text} {unit}"


def _label_of(metric: str, labels: Mapping | None) -> tuple[str, str, str, str]:
    base = METRIC_LABELS.get(metric) or (metric, _unit_from_name(metric), "", "")
    given = (labels or {}).get(metric)
    if given is None:
        return base
    if isinstance(given, str):
        return (given, *base[1:])
    return tuple(given)


def _unit_from_name(metric: str) -> str:
    for suffix, unit in _UNIT_SUFFIXES:
        if metric.endswith(suffix):
            return unit
    return ""


def _reason(limit: Limit, value: float, status: str, words: tuple[str, str, str, str]) -> str:
    """One sentence on why ``value`` warns or fails, e.g. "... is above the 0.65 mm fail limit"."""
    label, unit, low_word, high_word = words
    edge = limit.warn if status == "fail" else limit.pass_
    if limit.kind == "two_sided":
        high = value > edge[1]
        edge = edge[1] if high else edge[0]
    else:
        high = limit.kind == "upper"
    word = high_word if high else low_word
    side = "above" if high else "below"
    text = (f"{label} {_with_unit(_fmt_against(value, edge), unit)} is {side} the "
            f"{_with_unit(_fmt(edge), unit)} {'fail' if status == 'fail' else 'pass'} limit")
    if word:
        text += f": {word}"
    return f"{text} ({_context(limit, status, high, unit)})"


def _context(limit: Limit, status: str, high: bool, unit: str) -> str:
    # A fail recalls where pass is; a warn says how far it is from failing.
    if status == "fail":
        return "pass " + limit._show(limit.pass_, unit)
    if limit.kind == "two_sided":
        edge = limit.warn[1] if high else limit.warn[0]
    else:
        edge = limit.warn
    return f"fail {'above' if high else 'below'} {_with_unit(_fmt(edge), unit)}"


def _summary(judged: list[tuple[str, float]], limits: Mapping[str, Limit], labels) -> str:
    if len(judged) == 1:
        metric, value = judged[0]
        label, unit, _, _ = _label_of(metric, labels)
        limit = limits[metric]
        return (f"{label} {_with_unit(_fmt(value), unit)} is within the pass limit "
                f"({limit._show(limit.pass_, unit)})")
    return f"all {len(judged)} metrics within the pass limits"


# ---------------------------------------------------------------------------------------------
# Verdict


def _json_number(v):
    return v if v is None or math.isfinite(v) else None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The judgement of one criterion.

    Attributes
    ----------
    status : str
        One of :data:`STATUSES`.
    reasons : tuple of str
        Plain-English sentences: one per warning or failing metric (worst
        first), or one summary when everything passed or nothing could be
        judged.
    values : dict
        Metric -> value (float, or None when not measurable), for every
        metric given, judged or only reported.
    thresholds : dict
        Metric -> :meth:`Limit.to_dict` for every limit of the criterion.
    """

    status: str
    reasons: tuple[str, ...]
    values: dict
    thresholds: dict

    def to_dict(self) -> dict:
        """JSON-safe form: lists and finite floats, None for NaN or infinite values."""
        return {
            "status": self.status,
            "reasons": list(self.reasons),
            "values": {k: _json_number(v) for k, v in self.values.items()},
            "thresholds": {k: dict(t) for k, t in self.thresholds.items()},
        }


def _as_value(metric: str, v) -> float | None:
    if v is None:
        return None
    if not _is_number(v):
        raise TypeError(f"value of metric {metric!r} must be a number or None, got {v!r}")
    v = float(v)
    return None if math.isnan(v) else v


# ---------------------------------------------------------------------------------------------
# Profile


def _unknown_criterion(name) -> ProfileError:
    return ProfileError(f"unknown criterion {name!r}; valid criteria: {', '.join(CRITERIA)}")


class Profile(Mapping):
    """Thresholds for every criterion: an immutable mapping criterion -> {metric: Limit}.

    Parameters
    ----------
    limits : Mapping
        Criterion -> {metric: :class:`Limit`}; criteria left out have no
        limits.  Most callers want :meth:`default`, :meth:`from_dict` or
        :meth:`load` instead, which start from the default profile.
    source : str, optional
        Where the profile came from (a path, ``"default"``), for messages.

    Raises
    ------
    ProfileError
        For an unknown criterion, a bad metric name or a value that is not a
        :class:`Limit`.

    Examples
    --------
    >>> p = Profile.from_dict({"size": {"median_diameter_mm": {"pass": 0.4, "warn": 0.5}}})
    >>> p.judge("size", {"median_diameter_mm": 0.45}).status
    'warn'
    """

    __slots__ = ("_limits", "_source")

    def __init__(self, limits: Mapping[str, Mapping[str, Limit]], *, source: str = "<dict>"):
        tables = {c: {} for c in CRITERIA}
        for criterion, table in limits.items():
            if criterion not in tables:
                raise _unknown_criterion(criterion)
            for metric, limit in table.items():
                _check_metric_name(criterion, metric)
                if not isinstance(limit, Limit):
                    raise ProfileError(f"{criterion}.{metric}: expected a Limit, got {limit!r}")
                tables[criterion][metric] = limit
        proxies = {c: types.MappingProxyType(t) for c, t in tables.items()}
        object.__setattr__(self, "_limits", types.MappingProxyType(proxies))
        object.__setattr__(self, "_source", str(source))

    def __setattr__(self, name, value):
        raise AttributeError("Profile is immutable")

    def __reduce__(self):
        # Profiles travel to dask workers; rebuild through __init__ rather than setattr.
        return (_restore_profile, ({c: dict(t) for c, t in self._limits.items()}, self._source))

    # Mapping protocol: criterion -> read-only {metric: Limit}.
    def __getitem__(self, criterion: str) -> Mapping[str, Limit]:
        return self._limits[criterion]

    def __iter__(self) -> Iterator[str]:
        return iter(self._limits)

    def __len__(self) -> int:
        return len(self._limits)

    def __repr__(self) -> str:
        return f"Profile(source={self._source!r})"

    @property
    def source(self) -> str:
        """Where the profile came from: its file path, ``"default"`` or ``"<dict>"``."""
        return self._source

    @classmethod
    def default(cls) -> Profile:
        """The built-in thresholds (see the module docs of :mod:`smpqa.profile`)."""
        return cls.from_dict({}, source="default")

    @classmethod
    def from_dict(cls, d: Mapping, *, source: str | None = None) -> Profile:
        """A profile from its file form, merged over the default profile.

        Parameters
        ----------
        d : Mapping
            Criterion -> {metric: {"pass": ..., "warn": ..., "enabled": ...}}.
            An entry replaces the default limit of that metric whole; new
            metrics are added.
        source : str, optional
            Where ``d`` came from, named in error messages; kept as
            :attr:`source` (``"<dict>"`` when not given).

        Returns
        -------
        Profile

        Raises
        ------
        ProfileError
            For an unknown criterion (the message lists the valid ones), a
            table that is not a mapping, or a malformed limit; the message
            names ``source`` and the entry, e.g. ``size.median_diameter_mm``.
        """
        try:
            tables = _merge_over_default(d)
        except ProfileError as e:
            raise ProfileError(f"profile {source}: {e}" if source else str(e)) from None
        return cls(tables, source=source or "<dict>")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Profile:
        """Read a TOML (``.toml``) or JSON (``.json``) profile file.

        Parameters
        ----------
        path : str or os.PathLike

        Returns
        -------
        Profile
            Merged over the default profile; :attr:`source` is ``path``.

        Raises
        ------
        ProfileError
            Naming the file, when it cannot be read, has another suffix, is
            not valid TOML/JSON (with the parser's line and column), or holds
            a malformed profile.
        """
        name = os.fspath(path)
        data = _read_profile_file(name)
        if not isinstance(data, dict):
            raise ProfileError(f"profile {name}: expected a table of criteria at the top level, "
                               f"got {type(data).__name__}")
        return cls.from_dict(data, source=name)

    def limits(self, criterion: str) -> dict[str, Limit]:
        """A criterion's limits, metric -> :class:`Limit` (a fresh dict).

        Raises
        ------
        ProfileError
            For an unknown criterion.
        """
        if criterion not in self._limits:
            raise _unknown_criterion(criterion)
        return dict(self._limits[criterion])

    def to_dict(self) -> dict:
        """The file form of every limit: criterion -> {metric: :meth:`Limit.to_dict`}."""
        return {c: {m: lim.to_dict() for m, lim in t.items()} for c, t in self._limits.items()}

    def to_toml(self) -> str:
        """The profile as TOML text that :meth:`load` reads back to an equal profile."""
        lines = ["# smpqa threshold profile",
                 "# one-sided limits: pass <= warn means upper limits, pass > warn lower ones"]
        for criterion, table in self._limits.items():
            lines += ["", f"[{criterion}]"]
            for metric, limit in table.items():
                lines.append(f"{metric} = {_toml_limit(limit)}  # {limit.describe()}")
        return "\n".join(lines) + "\n"

    def judge(self, criterion: str, values: Mapping, *, labels: Mapping | None = None) -> Verdict:
        """Judge a criterion's measured metrics against this profile.

        Parameters
        ----------
        criterion : str
            One of :data:`CRITERIA`.
        values : Mapping
            Metric -> float, or None (or NaN) when not measurable.  Metrics
            without an enabled limit are reported in the verdict, not judged.
        labels : Mapping, optional
            Metric -> label for the reasons (a str), or a full
            ``(label, unit, low_word, high_word)`` tuple; overrides
            :data:`METRIC_LABELS`.

        Returns
        -------
        Verdict
            The worst status of the judged metrics, or ``"not_applicable"``
            when none could be judged.

        Raises
        ------
        ProfileError
            For an unknown criterion.
        TypeError
            For a value that is neither a number nor None.
        """
        limits = self.limits(criterion)
        vals = {m: _as_value(m, v) for m, v in values.items()}
        judged = [(m, v) for m, v in vals.items()
                  if m in limits and limits[m].enabled and v is not None and math.isfinite(v)]
        if not judged:
            return self.not_applicable(criterion, _why_nothing_judged(limits), values=vals)
        statuses = {m: limits[m].status(v) for m, v in judged}
        status = worst(statuses.values())
        if status == "pass":
            reasons = [_summary(judged, limits, labels)]
        else:
            bad = sorted((mv for mv in judged if statuses[mv[0]] != "pass"),
                         key=lambda mv: -_SEVERITY[statuses[mv[0]]])
            reasons = [_reason(limits[m], v, statuses[m], _label_of(m, labels)) for m, v in bad]
        return Verdict(status, tuple(reasons), vals, _thresholds(limits))

    def not_applicable(self, criterion: str, reason: str, *, values: Mapping | None = None
                       ) -> Verdict:
        """A ``not_applicable`` verdict with the caller's reason (e.g. "no hairline edge").

        Parameters
        ----------
        criterion : str
            One of :data:`CRITERIA`.
        reason : str
        values : Mapping, optional
            Metric -> value to report anyway.

        Returns
        -------
        Verdict
            Carrying the criterion's thresholds, so reports can still show them.
        """
        limits = self.limits(criterion)
        vals = {m: _as_value(m, v) for m, v in (values or {}).items()}
        return Verdict("not_applicable", (reason,), vals, _thresholds(limits))


def _restore_profile(limits, source) -> Profile:
    return Profile(limits, source=source)


def _check_metric_name(criterion: str, metric) -> None:
    if not isinstance(metric, str) or not _METRIC_NAME.fullmatch(metric):
        raise ProfileError(f"{criterion}: metric name {metric!r} must be identifier-like "
                           "(letters, digits and _, not starting with a digit)")


def _merge_over_default(d) -> dict[str, dict[str, Limit]]:
    if not isinstance(d, Mapping):
        raise ProfileError(f"expected a table of criteria, got {type(d).__name__}")
    tables = {c: {m: Limit.parse(obj, f"{c}.{m}") for m, obj in t.items()}
              for c, t in _DEFAULT.items()}
    for criterion, table in d.items():
        if criterion not in tables:
            raise _unknown_criterion(criterion)
        if not isinstance(table, Mapping):
            raise ProfileError(f"{criterion}: expected a table of metric limits, got {table!r}")
        for metric, obj in table.items():
            _check_metric_name(criterion, metric)
            limit = obj if isinstance(obj, Limit) else Limit.parse(obj, f"{criterion}.{metric}")
            tables[criterion][metric] = limit
    return tables


def _read_profile_file(name: str):
    suffix = os.path.splitext(name)[1].lower()
    if suffix not in (".toml", ".json"):
        raise ProfileError(f"profile {name}: unknown file type {suffix or '(none)'!r}; "
                           "use a .toml or .json file")
    try:
        with open(name, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ProfileError(f"cannot read profile {name}: {e.strerror or e}") from None
    try:
        if suffix == ".toml":
            return tomllib.loads(raw.decode("utf-8"))
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ProfileError(f"profile {name} is not UTF-8 text: {e}") from None
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
        # Both parsers put the line and column in their message.
        raise ProfileError(f"profile {name} is not valid {suffix[1:].upper()}: {e}") from None


def _toml_limit(limit: Limit) -> str:
    def num(x):
        return "[" + ", ".join(map(repr, x)) + "]" if isinstance(x, tuple) else repr(x)
    fields = [f"pass = {num(limit.pass_)}", f"warn = {num(limit.warn)}"]
    if not limit.enabled:
        fields.append("enabled = false")
    return "{" + ", ".join(fields) + "}"


def _thresholds(limits: Mapping[str, Limit]) -> dict:
    return {m: lim.to_dict() for m, lim in limits.items()}


def _why_nothing_judged(limits: Mapping[str, Limit]) -> str:
    if limits and not any(lim.enabled for lim in limits.values()):
        return "every metric of this criterion is disabled in the profile"
    return "no metric could be measured"
