"""The HTML report: structure, escaping, figures, overlay flags, atomic writing, a real browser."""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import os
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from smpqa import synth
from smpqa.analysis import analyze
from smpqa.detect import DotTable
from smpqa.detect.table import COLUMNS
from smpqa.metrics.blowout import HALO_LIMIT
from smpqa.profile import CRITERIA
from smpqa.region import Grid
from smpqa.report import plots, render_comparison_html, render_html, write_html

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DATA_URI = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
VOID = {"meta", "img", "br", "hr", "link", "input", "source", "col", "area", "base", "wbr"}
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _photo(name, **kw):
    photo = synth.render(synth.preset(name, **{"width_px": 800, "height_px": 600, "seed": 1,
                                               **kw}))
    return photo.image, analyze(photo.image, px_per_mm=photo.scene.px_per_mm)


@pytest.fixture(scope="module")
def botched():
    return _photo("botched")


@pytest.fixture(scope="module")
def botched_page(botched):
    rgb, a = botched
    return render_html(a, rgb)


@pytest.fixture(scope="module")
def empty():
    photo = synth.render(synth.preset("good_medium", density_per_cm2=0, width_px=300,
                                      height_px=200))
    return photo.image, analyze(photo.image, px_per_mm=photo.scene.px_per_mm)


class _Page(HTMLParser):
    """Collects verdict sections and images, and checks that every tag is closed in order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.verdicts, self.images, self.flags = [], [], {}, [], {}
        self._flag = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and a.get("class") == "verdict":
            self.verdicts.setdefault(a["data-criterion"], []).append(a["data-status"])
        if tag == "img":
            self.images.append(a)
        if tag == "li" and "data-flag" in a:
            self._flag = a["data-flag"]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()
        if tag == "li":
            self._flag = None

    def handle_data(self, data):
        if self._flag:
            self.flags[self._flag] = self.flags.get(self._flag, "") + data


def _parse(page: str) -> _Page:
    p = _Page()
    p.feed(page)
    p.close()
    assert not p.errors, p.errors[:5]
    assert p.stack == [], f"unclosed tags: {p.stack}"
    return p


def _pngs(page: str) -> list[bytes]:
    return [base64.b64decode(m, validate=True) for m in DATA_URI.findall(page)]


def _assert_png(data: bytes):
    assert data[:8] == PNG_SIGNATURE
    with Image.open(io.BytesIO(data)) as im:
        im.verify()
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "PNG" and min(im.size) > 50
        return np.asarray(im.convert("RGB"))


# ---------------------------------------------------------------------------------------------
# Page structure


def test_page_parses_and_has_one_card_per_criterion(botched, botched_page):
    _, a = botched
    p = _parse(botched_page)
    assert list(p.verdicts) == list(CRITERIA)
    assert {c: s[0] for c, s in p.verdicts.items()} == {c: v.status for c, v in
                                                        a.verdicts.items()}
    assert all(len(s) == 1 for s in p.verdicts.values())


def test_page_inlines_valid_pngs(botched_page):
    p = _parse(botched_page)
    pngs = _pngs(botched_page)
    assert len(pngs) >= 3
    assert len(pngs) == len(p.images)
    for data in pngs:
        _assert_png(data)
    classes = {img["class"] for img in p.images}
    assert {"overlay", "density", "histogram"} <= classes
    assert all(img.get("alt") for img in p.images)


def test_page_is_self_contained_and_mobile_ready(botched_page):
    low = botched_page.lower()
    assert "http://" not in low and "https://" not in low
    assert "<script" not in low
    assert '<meta name="viewport"' in low and '<meta charset="utf-8">' in low
    assert "max-width:100%" in low


def test_page_shows_grade_reasons_values_and_footer(botched, botched_page):
    _, a = botched
    assert f'data-status="{a.grade["status"]}"' in botched_page
    assert html.escape(a.grade["summary"]) in botched_page
    for v in a.verdicts.values():
        for reason in v.reasons:
            assert html.escape(reason) in botched_page
    # Units come from the metric names: the median diameter is shown in mm.
    d = a.verdicts["size"].values["median_diameter_mm"]
    assert f"{d:.2f} mm" in botched_page
    assert "20 px/mm" in botched_page and "given when the photo was analysed" in botched_page
    assert 'class="profile-source">default<' in botched_page
    assert "result schema 1.0" in botched_page


def test_footer_and_json_say_where_glare_was_taken_out():
    rgb, a = _photo("good_glare", width_px=600, height_px=450)
    frac = a.dots.meta["glare_fraction"]
    assert frac > 0.01  # four glare spots on a small photo cover a few per cent
    page = render_html(a, rgb)
    assert f"taken out over {100 * frac:.1f} % of the photo" in page
    assert a.to_dict()["glare_fraction"] == pytest.approx(frac)
    plain = dataclasses.replace(a, dots=DotTable.empty(px_per_mm=20.0, meta={}))
    assert 'class="glare">none found<' in render_html(plain, rgb)
    assert plain.to_dict()["glare_fraction"] == 0.0


def test_value_next_to_a_limit_does_not_read_as_the_limit(botched):
    rgb, a = botched
    size = a.verdicts["size"]
    values = {**size.values, "robust_cv_diameter": 0.3999}
    fake = dataclasses.replace(size, status="warn", values=values)
    page = render_html(dataclasses.replace(a, verdicts={**a.verdicts, "size": fake}), rgb)
    assert ">0.3999<" in page


# ---------------------------------------------------------------------------------------------
# Escaping


def test_source_and_title_are_escaped(botched):
    rgb, a = botched
    evil = "<script>alert(1)</script>.png"
    page = render_html(dataclasses.replace(a, source=evil), rgb)
    assert "<script" not in page.lower()
    assert html.escape(evil) in page
    page = render_html(a, rgb, title='<img src=x onerror="alert(1)">')
    assert "<img src=x" not in page
    _parse(page)


def test_reasons_and_profile_source_are_escaped(botched):
    rgb, a = botched
    bad = dataclasses.replace(a.verdicts["colour"], reasons=("<b>bold</b> & <i>co</i>",))
    params = {**a.parameters, "profile_source": "</dd><script>x</script>"}
    page = render_html(dataclasses.replace(a, verdicts={**a.verdicts, "colour": bad},
                                           parameters=params), rgb)
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;i&gt;" in page
    assert "<script" not in page.lower()
    _parse(page)


# ---------------------------------------------------------------------------------------------
# Figures and flags


def test_overlay_flags_match_the_dot_table():
    rgb, a = _photo("merged")
    counts = plots.flag_counts(a)
    dots = a.dots
    merged = dots["merged"]
    blown = (dots["halo_ratio"] >= HALO_LIMIT) & ~merged
    big = (dots["diameter_px"] > 2 * np.median(dots["diameter_px"])) & ~merged & ~blown
    assert list(counts) == list(plots.FLAGS)
    assert counts["merged"] == int(merged.sum()) > 0
    assert counts["blown_out"] == int(blown.sum())
    assert counts["oversized"] == int(big.sum())
    assert sum(counts.values()) == len(dots)
    # The page's legend shows the same counts.
    legend = _parse(render_html(a, rgb)).flags
    for flag, n in counts.items():
        assert legend[flag].endswith(f": {n}")


def test_oversized_flag():
    rgb, a = _photo("oversized")
    counts = plots.flag_counts(a)
    d = a.dots["diameter_px"]
    expected = (d > 2 * np.median(d)) & ~a.dots["merged"] & ~(a.dots["halo_ratio"] >= HALO_LIMIT)
    assert counts["oversized"] == int(expected.sum())


def test_overlay_is_downscaled_and_small(botched):
    rgb, a = botched
    data = plots.overlay_png(rgb, a, max_px=400)
    img = _assert_png(data)
    assert img.shape[1] == 400  # the photo's long side; the legend adds height only
    full = plots.overlay_png(rgb, a)
    assert _assert_png(full).shape[1] == 800
    assert len(full) < 400_000
    for png in (plots.density_png(a), plots.diameter_hist_png(a)):
        assert len(png) < 400_000
        assert _assert_png(png).std() > 5


def test_overlay_rejects_another_photo(botched):
    _, a = botched
    with pytest.raises(ValueError, match="analysed photo"):
        plots.overlay_png(np.zeros((100, 120, 3), np.uint8), a)


def test_overlay_draws_20000_dots_fast(botched):
    rgb, a = botched
    plots.overlay_png(rgb, a)  # warm up: the first figure pays matplotlib's imports
    n, h, w = 20_000, 2000, 3000
    rng = np.random.default_rng(0)
    cols = {k: np.zeros(n, t) for k, t in COLUMNS.items()}
    cols.update(x=rng.uniform(0, w - 1, n), y=rng.uniform(0, h - 1, n),
                diameter_px=rng.uniform(4, 12, n), halo_ratio=rng.uniform(0, 0.2, n),
                merged=rng.random(n) < 0.05)
    grid = Grid.for_image((h, w), 20.0)
    no = np.zeros(grid.shape, bool)
    big = dataclasses.replace(a, dots=DotTable(cols, px_per_mm=20.0),
                              regions={"grid": grid, "treated": ~no, "band": no,
                                       "interior": ~no, "hairline_contour_px": []})
    photo = np.full((h, w, 3), 180, np.uint8)
    t = time.perf_counter()
    _assert_png(plots.overlay_png(photo, big))
    assert time.perf_counter() - t < 2.0


def test_report_modules_leave_the_matplotlib_backend_alone():
    code = ("import sys, matplotlib\n"
            "import smpqa.report\n"
            "assert 'matplotlib.pyplot' not in sys.modules\n"
            "from smpqa import synth\nfrom smpqa.analysis import analyze\n"
            "from smpqa.report import plots\n"
            "p = synth.render(synth.preset('good_light', width_px=200, height_px=150))\n"
            "a = analyze(p.image, px_per_mm=p.scene.px_per_mm)\n"
            "plots.overlay_png(p.image, a); plots.density_png(a); plots.diameter_hist_png(a)\n"
            "assert 'matplotlib.pyplot' not in sys.modules\n"
            "assert matplotlib.rcParams['backend'] == 'svg', matplotlib.rcParams['backend']\n")
    env = {**os.environ, "MPLBACKEND": "svg"}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr


def test_import_smpqa_report_does_not_import_matplotlib():
    code = "import sys, smpqa.report; assert 'matplotlib' not in sys.modules"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


# ---------------------------------------------------------------------------------------------
# No dots


def test_zero_dots_render_not_applicable_cards(empty):
    rgb, a = empty
    assert len(a.dots) == 0
    page = render_html(a, rgb)
    p = _parse(page)
    assert {c: s[0] for c, s in p.verdicts.items()} == dict.fromkeys(CRITERIA, "not_applicable")
    assert plots.flag_counts(a) == dict.fromkeys(plots.FLAGS, 0)
    assert len(_pngs(page)) >= 3
    for data in _pngs(page):
        _assert_png(data)
    assert html.escape("no pigment dots found") in page


# ---------------------------------------------------------------------------------------------
# Comparison page


def test_comparison_page(botched, empty):
    (rgb1, a1), (rgb2, a2) = botched, empty
    page = render_comparison_html([("botched <work>", a1, rgb1), ("bare", a2, rgb2)],
                                  title="good & bad")
    p = _parse(page)
    assert page.count('<article class="item"') == 2
    assert "botched &lt;work&gt;" in page and "good &amp; bad" in page
    assert all(len(s) == 2 for s in p.verdicts.values()) and list(p.verdicts) == list(CRITERIA)
    assert [s[0] for s in p.verdicts.values()] == [a1.verdicts[c].status for c in CRITERIA]
    assert [s[1] for s in p.verdicts.values()] == ["not_applicable"] * 6
    assert sum(img["class"] == "overlay" for img in p.images) == 2
    assert "http://" not in page and "https://" not in page
    assert "grid-template-columns" in page  # columns on wide screens, stacked when narrow


# ---------------------------------------------------------------------------------------------
# Writing


def test_write_html_is_atomic_and_utf8(tmp_path):
    path = tmp_path / "report.html"
    write_html(path, "<p>ΔE ≤ 1.5</p>")
    assert path.read_bytes() == "<p>ΔE ≤ 1.5</p>".encode()
    write_html(str(path), "second")
    assert path.read_text(encoding="utf-8") == "second"
    assert os.listdir(tmp_path) == ["report.html"]


def test_write_html_failure_keeps_old_report_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "report.html"
    write_html(path, "old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_html(path, "new")
    assert path.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["report.html"]


def test_write_html_into_missing_folder_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_html(tmp_path / "nope" / "r.html", "x")
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# A real browser


def _browser():
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def _run_browser(exe, profile, *args):
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


@pytest.mark.timeout(120)
def test_report_in_a_real_browser(botched_page, tmp_path):
    exe = _browser()
    if exe is None:
        pytest.skip("chromium not installed: apt-get install chromium")
    report = tmp_path / "report.html"
    write_html(report, botched_page)
    url = report.resolve().as_uri()
    dom = _run_browser(exe, tmp_path / "profile-dom", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count('<section class="verdict"') == 6
    for c in CRITERIA:
        assert f'data-criterion="{c}"' in dom.stdout
    assert len(DATA_URI.findall(dom.stdout)) >= 3
    assert '<img class="overlay"' in dom.stdout
    shot = tmp_path / "shot.png"
    r = _run_browser(exe, tmp_path / "profile-shot", f"--screenshot={shot}",
                     "--window-size=412,915", "--hide-scrollbars", url)
    assert r.returncode == 0, r.stderr[-2000:]
    assert shot.exists()
    with Image.open(shot) as im:
        pixels = np.asarray(im.convert("L"), float)
    assert pixels.shape == (915, 412)
    assert pixels.std() > 10  # a blank or error page is nearly uniform
