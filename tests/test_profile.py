"""Tests of smpqa.profile: limits, the default profile, judging, files; truth computed by hand."""

from __future__ import annotations

import json
import pickle

import pytest

from smpqa.errors import ProfileError
from smpqa.profile import CRITERIA, STATUSES, Limit, Profile, Verdict, worst

NAN = float("nan")
INF = float("inf")

# The default profile, written out from the specification table (not imported).
EXPECTED_DEFAULT = {
    "size": {
        "median_diameter_mm": (0.50, 0.65, "upper"),
        "robust_cv_diameter": (0.25, 0.40, "upper"),
        "oversized_share": (0.03, 0.08, "upper"),
    },
    "darkness": {
        "depth": ((0.25, 0.60), (0.15, 0.70), "two_sided"),
        "stubble_depth_ratio": ((0.8, 1.2), (0.6, 1.4), "two_sided"),
    },
    "colour": {"cast_delta_e": (1.5, 3.0, "upper")},
    "uniformity": {
        "tile_vmr": (1.3, 2.0, "upper"),
        "coverage_cv": (0.35, 0.6, "upper"),
        "empty_circle_ratio": (5.0, 10.0, "upper"),
    },
    "hairline": {
        "width_mm": (5.0, 2.0, "lower"),
        "irregularity_ratio": (1.0, 0.0, "lower"),
        "asymmetry_mm": (2.0, 5.0, "upper"),
    },
    "blowout": {"blowout_share": (0.05, 0.15, "upper")},
}


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- constants and worst() -------------------------------------------------------------------


def test_constants():
    assert CRITERIA == ("size", "darkness", "colour", "uniformity", "hairline", "blowout")
    assert set(STATUSES) == {"pass", "warn", "fail", "not_applicable"}


@pytest.mark.parametrize("statuses,expected", [
    ([], "not_applicable"),
    (["not_applicable"], "not_applicable"),
    (["pass", "not_applicable"], "pass"),
    (["not_applicable", "pass", "warn"], "warn"),
    (["fail", "pass", "warn", "not_applicable"], "fail"),
    (iter(["warn", "pass"]), "warn"),
])
def test_worst(statuses, expected):
    assert worst(statuses) == expected


def test_worst_rejects_unknown_status():
    with pytest.raises(ValueError, match="'ok'"):
        worst(["pass", "ok"])


# --- Limit: band edges are inclusive ---------------------------------------------------------


@pytest.mark.parametrize("value,expected", [
    (-1.0, "pass"), (0.0, "pass"), (0.50, "pass"), (0.5000001, "warn"), (0.60, "warn"),
    (0.65, "warn"), (0.6500001, "fail"), (0.66, "fail"),
    (10.0, "fail"),
])
def test_upper_edges(value, expected):
    assert Limit(0.50, 0.65, "upper").status(value) == expected


@pytest.mark.parametrize("value,expected", [
    (100.0, "pass"), (5.0, "pass"), (5, "pass"), (4.9999, "warn"), (3.0, "warn"), (2.0, "warn"),
    (1.9999, "fail"), (0.0, "fail"), (-3.0, "fail"),
])
def test_lower_edges(value, expected):
    assert Limit(5.0, 2.0, "lower").status(value) == expected


@pytest.mark.parametrize("value,expected", [
    (0.25, "pass"), (0.40, "pass"), (0.60, "pass"),
    (0.2499, "warn"), (0.15, "warn"), (0.1499, "fail"), (0.0, "fail"), (-0.2, "fail"),
    (0.6001, "warn"), (0.70, "warn"), (0.7001, "fail"), (1.0, "fail"),
])
def test_two_sided_edges(value, expected):
    assert Limit((0.25, 0.60), (0.15, 0.70), "two_sided").status(value) == expected


@pytest.mark.parametrize("value", [None, NAN, INF, -INF])
def test_unmeasurable_value_is_not_applicable(value):
    assert Limit(0.5, 0.65, "upper").status(value) == "not_applicable"
    assert Limit((0.25, 0.6), (0.15, 0.7), "two_sided").status(value) == "not_applicable"


def test_equal_pass_and_warn_is_an_upper_limit_without_warn_band():
    lim = Limit.parse({"pass": 1, "warn": 1}, "x.y")
    assert lim.kind == "upper"
    assert [lim.status(v) for v in (1.0, 1.0001)] == ["pass", "fail"]


# --- Limit.parse: direction inference, normalisation, errors ---------------------------------


@pytest.mark.parametrize("obj,kind", [
    ({"pass": 0.5, "warn": 0.65}, "upper"),
    ({"pass": 5, "warn": 2}, "lower"),
    ({"pass": -1, "warn": -0.5}, "upper"),
    ({"pass": -0.5, "warn": -1}, "lower"),
    ({"pass": 0.3, "warn": 0.3}, "upper"),
    ({"pass": [0.25, 0.6], "warn": [0.15, 0.7]}, "two_sided"),
    ({"pass": [1, 1], "warn": [1, 1]}, "two_sided"),
])
def test_direction_is_inferred(obj, kind):
    assert Limit.parse(obj, "c.m").kind == kind


def test_parse_normalises_numbers_and_round_trips():
    lim = Limit.parse({"pass": [0, 1], "warn": (-1, 2), "enabled": False}, "c.m")
    assert lim == Limit((0.0, 1.0), (-1.0, 2.0), "two_sided", enabled=False)
    assert isinstance(lim.pass_[0], float) and isinstance(lim.warn, tuple)
    assert lim.to_dict() == {"pass": [0.0, 1.0], "warn": [-1.0, 2.0], "enabled": False}
    assert Limit.parse(lim.to_dict(), "c.m") == lim
    up = Limit.parse({"pass": 5, "warn": 2}, "c.m")
    assert up.pass_ == 5.0 and isinstance(up.pass_, float) and up.enabled is True
    assert up.to_dict() == {"pass": 5.0, "warn": 2.0, "enabled": True}


@pytest.mark.parametrize("obj,match", [
    ({"warn": 0.65}, "missing 'pass'"),
    ({"pass": 0.5}, "missing 'warn'"),
    ({}, "missing 'pass' and 'warn'"),
    ({"pass": "0.5", "warn": 0.65}, "pass must be a number"),
    ({"pass": 0.5, "warn": None}, "warn must be a number"),
    ({"pass": True, "warn": 2}, "pass must be a number"),
    ({"pass": NAN, "warn": 0.65}, "finite"),
    ({"pass": 0.5, "warn": INF}, "finite"),
    ({"pass": [0.25, NAN], "warn": [0.15, 0.7]}, "finite"),
    ({"pass": [0.6, 0.25], "warn": [0.15, 0.7]}, "low end above its high end"),
    ({"pass": [0.25, 0.6], "warn": [0.7, 0.15]}, "low end above its high end"),
    ({"pass": [0.1, 0.6], "warn": [0.15, 0.7]}, "not inside the warn band"),
    ({"pass": [0.25, 0.8], "warn": [0.15, 0.7]}, "not inside the warn band"),
    ({"pass": [0.25, 0.6, 0.7], "warn": [0.15, 0.7]}, r"\[low, high\] pair"),
    ({"pass": [0.25, "x"], "warn": [0.15, 0.7]}, "must be a number"),
    ({"pass": 0.5, "warn": [0.15, 0.7]}, "must both be numbers .* or both"),
    ({"pass": [0.25, 0.6], "warn": 0.7}, "must both be numbers .* or both"),
    ({"pass": 0.5, "warn": 0.65, "kind": "upper"}, "unknown key.*'kind'"),
    ({"pass": 0.5, "warn": 0.65, "pas": 1}, "unknown key.*'pas'"),
    ({"pass": 0.5, "warn": 0.65, "enabled": "no"}, "enabled must be true or false"),
    (0.5, "expected a table"),
    ([0.5, 0.65], "expected a table"),
])
def test_parse_errors_name_the_entry(obj, match):
    with pytest.raises(ProfileError, match=match) as info:
        Limit.parse(obj, "size.median_diameter_mm")
    assert str(info.value).startswith("size.median_diameter_mm: ")
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("args,match", [
    ((0.5, 0.65, "above"), "kind must be one of"),
    ((0.65, 0.5, "upper"), "upper limits need pass <= warn"),
    ((2.0, 5.0, "lower"), "lower limits need pass > warn"),
    ((2.0, 2.0, "lower"), "lower limits need pass > warn"),
    ((0.5, (0.1, 0.7), "upper"), "must be a number"),
    ((0.5, 0.7, "two_sided"), r"\[low, high\] pair"),
])
def test_limit_constructor_validates(args, match):
    with pytest.raises(ProfileError, match=match):
        Limit(*args)


def test_limit_is_frozen_and_hashable():
    lim = Limit(0.5, 0.65, "upper")
    with pytest.raises(AttributeError):
        lim.warn = 1.0
    assert hash(lim) == hash(Limit(0.5, 0.65, "upper"))
    assert pickle.loads(pickle.dumps(lim)) == lim


@pytest.mark.parametrize("limit,expected", [
    (Limit(0.5, 0.65, "upper"), "≤ 0.50 pass, ≤ 0.65 warn"),
    (Limit(5, 2, "lower"), "≥ 5 pass, ≥ 2 warn"),
    (Limit((0.25, 0.6), (0.15, 0.7), "two_sided"), "0.25–0.60 pass, 0.15–0.70 warn"),
    (Limit(12.5, 40, "upper"), "≤ 12.5 pass, ≤ 40 warn"),
])
def test_describe(limit, expected):
    assert limit.describe() == expected


def test_describe_with_unit():
    assert Limit(5, 2, "lower").describe("mm") == "≥ 5 mm pass, ≥ 2 mm warn"
    assert (Limit((60, 120), (40, 150), "two_sided").describe("/cm²")
            == "60–120/cm² pass, 40–150/cm² warn")


# --- the default profile ---------------------------------------------------------------------


def test_default_profile_matches_the_table():
    p = Profile.default()
    assert p.source == "default"
    assert tuple(p) == CRITERIA and len(p) == 6
    for criterion, table in EXPECTED_DEFAULT.items():
        got = p.limits(criterion)
        assert list(got) == list(table), criterion
        for metric, (pass_, warn, kind) in table.items():
            assert got[metric] == Limit(pass_, warn, kind, True), (criterion, metric)
            assert got[metric].kind == kind
            assert got[metric].enabled is True


def test_default_profile_to_dict():
    d = Profile.default().to_dict()
    assert d["size"]["median_diameter_mm"] == {"pass": 0.5, "warn": 0.65, "enabled": True}
    assert d["darkness"]["depth"] == {"pass": [0.25, 0.6], "warn": [0.15, 0.7], "enabled": True}
    assert d["hairline"]["width_mm"] == {"pass": 5.0, "warn": 2.0, "enabled": True}
    assert {c: set(t) for c, t in d.items()} == {c: set(t) for c, t in EXPECTED_DEFAULT.items()}
    json.dumps(d, allow_nan=False)


def test_profile_is_immutable():
    p = Profile.default()
    with pytest.raises(AttributeError):
        p.source = "x"
    with pytest.raises(TypeError):
        p["size"]["median_diameter_mm"] = Limit(1, 2, "upper")
    copy = p.limits("size")
    copy["median_diameter_mm"] = Limit(1, 2, "upper")
    assert p.limits("size")["median_diameter_mm"] == Limit(0.5, 0.65, "upper")
    assert Profile.default() == p


def test_profile_pickles():
    p = Profile.from_dict({"hairline": {"asymmetry_mm": {"pass": 2, "warn": 5,
                                                         "enabled": False}}}, source="x.toml")
    q = pickle.loads(pickle.dumps(p))
    assert q == p and q.source == "x.toml" and q.to_dict() == p.to_dict()


# --- judging ---------------------------------------------------------------------------------


def test_judge_takes_the_worst_status():
    p = Profile.default()
    v = p.judge("size", {"median_diameter_mm": 0.45, "robust_cv_diameter": 0.30,
                         "oversized_share": 0.10})
    assert isinstance(v, Verdict)
    assert v.status == "fail"
    # Fail first, then warn; the passing metric gets no reason.
    assert len(v.reasons) == 2
    assert "share of oversized dots 0.10" in v.reasons[0] and "0.08" in v.reasons[0]
    assert "0.30" in v.reasons[1] and "0.25 pass limit" in v.reasons[1]
    assert p.judge("size", {"median_diameter_mm": 0.45, "robust_cv_diameter": 0.30}).status \
        == "warn"


def test_judge_all_pass_gives_one_summary():
    v = Profile.default().judge("uniformity", {"tile_vmr": 1.0, "coverage_cv": 0.2,
                                               "empty_circle_ratio": 5})
    assert v.status == "pass"
    assert v.reasons == ("all 3 metrics within the pass limits",)
    one = Profile.default().judge("colour", {"cast_delta_e": 0.8})
    assert one.status == "pass" and len(one.reasons) == 1
    assert "0.80" in one.reasons[0] and "≤ 1.50" in one.reasons[0]


@pytest.mark.parametrize("values", [
    {},
    {"depth": None, "stubble_depth_ratio": None},
    {"depth": NAN, "stubble_depth_ratio": None},
    {"depth": INF},
    {"delta_L": 30.0},   # measured, but no limit judges it
])
def test_judge_not_applicable_when_nothing_measurable(values):
    v = Profile.default().judge("darkness", values)
    assert v.status == "not_applicable"
    assert v.reasons == ("no metric could be measured",)
    assert set(v.values) == set(values)
    assert set(v.thresholds) == {"depth", "stubble_depth_ratio"}


def test_judge_reports_none_for_nan_and_keeps_measured_values():
    v = Profile.default().judge("darkness", {"depth": 0.4, "stubble_depth_ratio": NAN})
    assert v.status == "pass"
    assert v.values == {"depth": 0.4, "stubble_depth_ratio": None}
    assert v.reasons == ("median dot depth 0.40 is within the pass limit (0.25–0.60)",)


def test_disabled_metric_is_reported_not_judged():
    p = Profile.from_dict({"hairline": {"asymmetry_mm": {"pass": 2, "warn": 5,
                                                         "enabled": False}}})
    v = p.judge("hairline", {"width_mm": 6.0, "asymmetry_mm": 50.0})
    assert v.status == "pass"
    assert v.values == {"width_mm": 6.0, "asymmetry_mm": 50.0}
    assert v.thresholds["asymmetry_mm"] == {"pass": 2.0, "warn": 5.0, "enabled": False}
    assert not any("asymmetry" in r for r in v.reasons)
    # The same values fail under the default profile.
    assert Profile.default().judge("hairline", {"width_mm": 6.0, "asymmetry_mm": 50.0}).status \
        == "fail"


def test_all_metrics_disabled_is_not_applicable_and_says_why():
    off = {"pass": 1.5, "warn": 3.0, "enabled": False}
    v = Profile.from_dict({"colour": {"cast_delta_e": off}}).judge("colour", {"cast_delta_e": 9})
    assert v.status == "not_applicable"
    assert v.reasons == ("every metric of this criterion is disabled in the profile",)
    assert v.values == {"cast_delta_e": 9.0}


def test_extra_metrics_are_reported_and_added_limits_judged():
    v = Profile.default().judge("size", {"median_diameter_mm": 0.4, "n_dots": 250})
    assert v.status == "pass" and v.values["n_dots"] == 250.0
    assert "n_dots" not in v.thresholds
    p = Profile.from_dict({"uniformity": {"density_per_cm2": {"pass": [60, 120],
                                                              "warn": [40, 150]}}})
    assert p.limits("uniformity")["density_per_cm2"].kind == "two_sided"
    # Default entries are still there, in their order, with the new one appended.
    assert list(p.limits("uniformity")) == ["tile_vmr", "coverage_cv", "empty_circle_ratio",
                                            "density_per_cm2"]
    v = p.judge("uniformity", {"tile_vmr": 1.0, "density_per_cm2": 30.0})
    assert v.status == "fail"
    assert v.reasons == ("dot density 30/cm² is below the 40/cm² fail limit: too sparse "
                         "(pass 60–120/cm²)",)
    assert p.judge("uniformity", {"density_per_cm2": 130.0}).status == "warn"
    assert p.judge("uniformity", {"density_per_cm2": 150.5}).status == "fail"


# The three example sentences of the specification, in this module's one template.
@pytest.mark.parametrize("criterion,values,reason", [
    ("size", {"median_diameter_mm": 0.72},
     "median dot diameter 0.72 mm is above the 0.65 mm fail limit: too large "
     "(pass ≤ 0.50 mm)"),
    ("darkness", {"depth": 0.12},
     "median dot depth 0.12 is below the 0.15 fail limit: too faint (pass 0.25–0.60)"),
    ("hairline", {"width_mm": 1.1},
     "hairline fall-off width 1.10 mm is below the 2 mm fail limit: too hard an edge "
     "(pass ≥ 5 mm)"),
    ("size", {"median_diameter_mm": 0.58},
     "median dot diameter 0.58 mm is above the 0.50 mm pass limit: too large "
     "(fail above 0.65 mm)"),
    ("darkness", {"depth": 0.20},
     "median dot depth 0.20 is below the 0.25 pass limit: too faint (fail below 0.15)"),
    ("darkness", {"depth": 0.65},
     "median dot depth 0.65 is above the 0.60 pass limit: too dark (fail above 0.70)"),
    ("darkness", {"depth": 0.85},
     "median dot depth 0.85 is above the 0.70 fail limit: too dark (pass 0.25–0.60)"),
    ("hairline", {"width_mm": 3.5},
     "hairline fall-off width 3.50 mm is below the 5 mm pass limit: too hard an edge "
     "(fail below 2 mm)"),
    ("uniformity", {"empty_circle_ratio": 12.345},
     "largest empty-gap ratio 12.3 is above the 10 fail limit: bare gaps (pass ≤ 5)"),
])
def test_reason_sentences(criterion, values, reason):
    assert Profile.default().judge(criterion, values).reasons == (reason,)


def test_value_just_past_a_limit_never_reads_as_the_limit():
    (r,) = Profile.default().judge("size", {"median_diameter_mm": 0.6500001}).reasons
    assert r.startswith("median dot diameter 0.6500001 mm is above the 0.65 mm fail limit")
    (r,) = Profile.default().judge("size", {"median_diameter_mm": 0.5049}).reasons
    assert r.startswith("median dot diameter 0.505 mm is above the 0.50 mm pass limit")


def test_unknown_metric_labels_fall_back_to_name_and_unit_suffix():
    p = Profile.from_dict({"hairline": {"gap_mm": {"pass": 1, "warn": 3}},
                           "uniformity": {"holes_per_cm2": {"pass": 0, "warn": 2}},
                           "blowout": {"halo_share": {"pass": 0.1, "warn": 0.2}}})
    assert p.judge("hairline", {"gap_mm": 4.0}).reasons == (
        "gap_mm 4 mm is above the 3 mm fail limit (pass ≤ 1 mm)",)
    assert p.judge("uniformity", {"holes_per_cm2": 1.5}).reasons == (
        "holes_per_cm2 1.50/cm² is above the 0/cm² pass limit (fail above 2/cm²)",)
    assert p.judge("blowout", {"halo_share": 0.25}).reasons == (
        "halo_share 0.25 is above the 0.20 fail limit (pass ≤ 0.10)",)


def test_labels_override():
    p = Profile.default()
    (r,) = p.judge("hairline", {"width_mm": 1.0}, labels={"width_mm": "left temple"}).reasons
    assert r.startswith("left temple 1 mm is below the 2 mm fail limit: too hard an edge")
    (r,) = p.judge("colour", {"cast_delta_e": 4.0},
                   labels={"cast_delta_e": ("blue cast", "ΔE", "", "too blue")}).reasons
    assert r == "blue cast 4 ΔE is above the 3 ΔE fail limit: too blue (pass ≤ 1.50 ΔE)"


def test_judge_rejects_unknown_criterion_and_bad_values():
    p = Profile.default()
    with pytest.raises(ProfileError, match="sizes.*size, darkness, colour"):
        p.judge("sizes", {})
    with pytest.raises(TypeError, match="median_diameter_mm"):
        p.judge("size", {"median_diameter_mm": "0.5"})


def test_not_applicable_helper():
    v = Profile.default().not_applicable("hairline", "no hairline edge in the photo")
    assert v.status == "not_applicable"
    assert v.reasons == ("no hairline edge in the photo",)
    assert v.values == {}
    assert set(v.thresholds) == {"width_mm", "irregularity_ratio", "asymmetry_mm"}
    with pytest.raises(ProfileError, match="valid criteria"):
        Profile.default().not_applicable("hair", "x")


def test_verdict_to_dict_is_strict_json():
    v = Profile.default().judge("darkness", {"depth": 0.9, "stubble_depth_ratio": NAN,
                                             "delta_L": INF, "depth_iqr": 0.1})
    d = v.to_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert back["status"] == "fail"
    assert back["values"] == {"depth": 0.9, "stubble_depth_ratio": None, "delta_L": None,
                              "depth_iqr": 0.1}
    assert back["thresholds"]["depth"] == {"pass": [0.25, 0.6], "warn": [0.15, 0.7],
                                           "enabled": True}
    assert isinstance(back["reasons"], list) and back["reasons"][0] == v.reasons[0]
    na = Profile.default().judge("size", {"median_diameter_mm": NAN}).to_dict()
    assert json.loads(json.dumps(na, allow_nan=False))["values"] == {"median_diameter_mm": None}


# --- from_dict, files, round trip ------------------------------------------------------------


def test_from_dict_merges_over_the_default_without_changing_it():
    p = Profile.from_dict({"size": {"median_diameter_mm": {"pass": 0.4, "warn": 0.5}}})
    assert p.source == "<dict>"
    assert p.limits("size")["median_diameter_mm"] == Limit(0.4, 0.5, "upper")
    assert p.limits("size")["robust_cv_diameter"] == Limit(0.25, 0.40, "upper")
    assert p.limits("darkness") == Profile.default().limits("darkness")
    assert Profile.default().limits("size")["median_diameter_mm"] == Limit(0.5, 0.65, "upper")
    assert p != Profile.default()
    assert Profile.from_dict({}) == Profile.default()
    assert Profile.from_dict({"size": {}}) == Profile.default()


def test_from_dict_accepts_its_own_output_and_limit_objects():
    p = Profile.from_dict({"colour": {"cast_delta_e": Limit(1, 2, "upper", False)}})
    assert Profile.from_dict(p.to_dict()) == p
    assert p.limits("colour")["cast_delta_e"].enabled is False


@pytest.mark.parametrize("d,match", [
    ({"sizes": {}}, "unknown criterion 'sizes'.*size, darkness, colour, uniformity, "
                    "hairline, blowout"),
    ({"size": 3}, "size: expected a table"),
    ({"size": {"bad name": {"pass": 1, "warn": 2}}}, "identifier-like"),
    ({"size": {"1st": {"pass": 1, "warn": 2}}}, "identifier-like"),
    ({"size": {"median_diameter_mm": {"pass": 1}}}, "size.median_diameter_mm: missing 'warn'"),
    ([("size", {})], "expected a table of criteria"),
])
def test_from_dict_errors(d, match):
    with pytest.raises(ProfileError, match=match):
        Profile.from_dict(d)


def test_from_dict_errors_name_the_source():
    with pytest.raises(ProfileError, match=r"^profile mine\.toml: size\.median_diameter_mm: "):
        Profile.from_dict({"size": {"median_diameter_mm": {"pass": 1}}}, source="mine.toml")


TOML_TEXT = """\
# stricter size, soft hairline asymmetry, an added density limit
[size]
median_diameter_mm = {pass = 0.45, warn = 0.55}

[darkness]
depth = {pass = [0.3, 0.55], warn = [0.2, 0.65]}

[hairline]
width_mm = {pass = 6, warn = 3}
asymmetry_mm = {pass = 2, warn = 5, enabled = false}

[uniformity]
density_per_cm2 = {pass = [60, 120], warn = [40, 150]}
"""


def _check_custom(p):
    assert p.limits("size")["median_diameter_mm"] == Limit(0.45, 0.55, "upper")
    assert p.limits("size")["oversized_share"] == Limit(0.03, 0.08, "upper")   # default kept
    assert p.limits("darkness")["depth"] == Limit((0.3, 0.55), (0.2, 0.65), "two_sided")
    assert p.limits("hairline")["width_mm"] == Limit(6, 3, "lower")
    assert p.limits("hairline")["asymmetry_mm"] == Limit(2, 5, "upper", enabled=False)
    assert p.limits("uniformity")["density_per_cm2"] == Limit((60, 120), (40, 150), "two_sided")
    assert p.limits("blowout") == Profile.default().limits("blowout")


def test_load_toml(tmp_path):
    path = _write(tmp_path, "p.toml", TOML_TEXT)
    p = Profile.load(path)
    assert p.source == str(path)
    _check_custom(p)
    assert Profile.load(str(path)) == p


def test_load_json(tmp_path):
    d = {"size": {"median_diameter_mm": {"pass": 0.45, "warn": 0.55}},
         "darkness": {"depth": {"pass": [0.3, 0.55], "warn": [0.2, 0.65]}},
         "hairline": {"width_mm": {"pass": 6, "warn": 3},
                      "asymmetry_mm": {"pass": 2, "warn": 5, "enabled": False}},
         "uniformity": {"density_per_cm2": {"pass": [60, 120], "warn": [40, 150]}}}
    path = _write(tmp_path, "p.JSON", json.dumps(d))
    p = Profile.load(path)
    _check_custom(p)
    assert p == Profile.load(_write(tmp_path, "p.toml", TOML_TEXT))


def test_to_toml_round_trip(tmp_path):
    odd = {"pass": 0.1 + 0.2, "warn": 1e-5 + 0.3}  # floats whose repr is long
    p = Profile.from_dict({
        "size": {"median_diameter_mm": odd, "tiny_mm": {"pass": 1e-7, "warn": 2e-7}},
        "colour": {"cast_delta_e": {"pass": 1.5, "warn": 3, "enabled": False},
                   "huge": {"pass": 1e20, "warn": 3e20}},
        "darkness": {"negative": {"pass": [-0.5, -0.25], "warn": [-1, 0]}},
        "hairline": {"width_mm": {"pass": 7.5, "warn": 2.25}},
    })
    text = p.to_toml()
    assert "[size]" in text and "enabled = false" in text
    q = Profile.load(_write(tmp_path, "round.toml", text))
    assert q.to_dict() == p.to_dict()
    assert q == p
    assert Profile.load(_write(tmp_path, "default.toml", Profile.default().to_toml())) \
        == Profile.default()
    json_path = _write(tmp_path, "round.json", json.dumps(p.to_dict()))
    assert Profile.load(json_path) == p


BAD_FILES = [
    ("syntax.toml", "[size]\nmedian_diameter_mm = {pass = 0.5, warn = }\n",
     ["syntax.toml", "not valid TOML", "line 2"]),
    ("syntax.json", '{"size": {"median_diameter_mm": {"pass": 0.5,, "warn": 1}}}',
     ["syntax.json", "not valid JSON", "line 1"]),
    ("crit.toml", "[sizes]\nmedian_diameter_mm = {pass = 0.5, warn = 0.65}\n",
     ["crit.toml", "'sizes'", "size, darkness, colour, uniformity, hairline, blowout"]),
    ("text.toml", '[size]\nmedian_diameter_mm = {pass = "0.5", warn = 0.65}\n',
     ["text.toml", "size.median_diameter_mm", "must be a number"]),
    ("nan.toml", "[size]\nmedian_diameter_mm = {pass = nan, warn = 0.65}\n",
     ["nan.toml", "size.median_diameter_mm", "finite"]),
    ("nan.json", '{"colour": {"cast_delta_e": {"pass": NaN, "warn": 3}}}',
     ["nan.json", "colour.cast_delta_e", "finite"]),
    ("order.toml", "[darkness]\ndepth = {pass = [0.6, 0.25], warn = [0.15, 0.7]}\n",
     ["order.toml", "darkness.depth", "low end above its high end"]),
    ("outside.toml", "[darkness]\ndepth = {pass = [0.1, 0.6], warn = [0.15, 0.7]}\n",
     ["outside.toml", "darkness.depth", "not inside the warn band"]),
    ("warn.toml", "[blowout]\nblowout_share = {pass = 0.05}\n",
     ["warn.toml", "blowout.blowout_share", "missing 'warn'"]),
    ("key.toml", "[hairline]\nwidth_mm = {pass = 5, warn = 2, kind = \"lower\"}\n",
     ["key.toml", "hairline.width_mm", "unknown key", "'kind'"]),
    ("mixed.toml", "[darkness]\ndepth = {pass = 0.4, warn = [0.15, 0.7]}\n",
     ["mixed.toml", "darkness.depth", "must both be numbers"]),
    ("enabled.toml", "[colour]\ncast_delta_e = {pass = 1.5, warn = 3, enabled = \"no\"}\n",
     ["enabled.toml", "colour.cast_delta_e", "true or false"]),
    ("scalar.toml", "size = 0.5\n", ["scalar.toml", "size: expected a table"]),
    ("name.toml", '[size]\n"dot size" = {pass = 0.5, warn = 0.65}\n',
     ["name.toml", "'dot size'", "identifier-like"]),
    ("list.json", "[1, 2]", ["list.json", "top level"]),
    ("latin1.json", None, ["latin1.json", "UTF-8"]),
    ("profile.yaml", "size: {}\n", ["profile.yaml", ".toml or .json"]),
]


@pytest.mark.parametrize("name,text,needles", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_malformed_files_raise_profile_error_naming_file_and_key(tmp_path, name, text, needles):
    path = tmp_path / name
    if text is None:
        path.write_bytes(b'{"size": "\xe9"}')
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError) as info:
        Profile.load(path)
    message = str(info.value)
    for needle in needles:
        assert needle in message, (needle, message)
    assert "\n" not in message


def test_missing_file_raises_profile_error(tmp_path):
    path = tmp_path / "nowhere" / "missing.toml"
    with pytest.raises(ProfileError, match="cannot read profile .*missing.toml") as info:
        Profile.load(path)
    assert str(path) in str(info.value)
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    with pytest.raises(ProfileError, match="cannot read profile .*folder.toml"):
        Profile.load(folder)
