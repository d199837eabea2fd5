"""Benchmark smpqa's dot detector against general-purpose spot finders on simulated SMP photos.

Each preset is rendered once; every method then runs on the same RGB image in
two fresh ``multiprocessing`` *spawn* children. The timing child reports

- the time to import the method's modules (smpqa's detector, with numba, included),
- the first call's time (including numba JIT compilation or cache loading),
- with ``--cold``, smpqa's first call with an empty numba cache (as right after install),
- the median of ``--repeat`` warm calls after that first call;

the memory child, after a warm-up call on a 256 x 256 crop, reports

- the peak RSS increase of one full call: peak RSS during the call minus the
  RSS just before it (Linux: the ``VmHWM`` mark, reset before the call;
  elsewhere ``ru_maxrss``, see ``_reset_peak_rss``),
- the peak of Python-tracked allocations (``tracemalloc``) in one more call.

The parent scores the detections against the simulator's truth with
:func:`smpqa.match.match_dots` (1 mm border excluded) and prints one Markdown
table, one row per preset x method. See docs/benchmarks.md.

Examples
--------
    python benchmarks/bench_detect.py --size 3mp
    python benchmarks/bench_detect.py --size 12mp --preset good_light --json out.json
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import importlib
import importlib.util
import json
import math
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

SIZES = {"tiny": (400, 300), "3mp": (2000, 1500), "12mp": (4000, 3000)}
DEFAULT_PRESETS = ("good_light", "good_stubble", "blowout", "merged", "good_jpeg75")
DIAMETER_MM = (0.15, 1.5)  # expected range of dot diameters (smpqa's default)
TYPICAL_MM = 0.30  # typical dot diameter
GUARD_S = 60.0  # a first call slower than this skips the warm repeats


@dataclass(frozen=True)
class Geometry:
    """Expected dot sizes in pixels, derived from the scale only.

    Attributes
    ----------
    ppm : float
        Pixels per mm at the scalp.
    d_lo, d_typ, d_hi : float
        Smallest, typical and largest expected dot diameter, px.
    """

    ppm: float

    @property
    def d_lo(self) -> float:
        return max(DIAMETER_MM[0] * self.ppm, 1.5)

    @property
    def d_typ(self) -> float:
        return TYPICAL_MM * self.ppm

    @property
    def d_hi(self) -> float:
        return DIAMETER_MM[1] * self.ppm


# --- the methods: (rgb uint8, Geometry) -> (x, y, diameter_px or None) ----------------------


def _gray(rgb):
    """8-bit grey (OpenCV's Rec. 601 weights on the sRGB values)."""
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def _inverted(rgb, dtype=np.float32):
    """Inverted grey (255 - grey): dark dots become bright spots, as astronomy tools expect."""
    return np.ascontiguousarray(255 - _gray(rgb), dtype=dtype)


def run_smpqa(rgb, geo):
    """smpqa's own detector with its defaults; only the scale is given."""
    from smpqa.detect import detect_dots

    t = detect_dots(rgb, px_per_mm=geo.ppm)
    return t["x"], t["y"], t["diameter_px"]


def run_trackpy(rgb, geo):
    """trackpy.locate on the inverted grey, minmass chosen from the candidates' masses.

    Diameter: trackpy's ``size`` is the radius of gyration sqrt(<r^2>) of the
    (bandpassed) brightness; for a uniform disc <r^2> = R^2 / 2, so the
    diameter is 2 * sqrt(2) * size (not 4 * size).
    """
    import trackpy

    trackpy.quiet()
    # Mask diameter: odd, >= typical dot + 2 px so a typical dot's blurred edge fits inside.
    diameter = int(math.ceil(geo.d_typ + 2)) | 1
    # separation = smallest dot: the default (diameter + 1) drops close neighbours and twins.
    # minmass=0 here and applied below: trackpy applies it after refining anyway.
    f = trackpy.locate(_inverted(rgb, np.uint8), diameter, minmass=0, separation=geo.d_lo,
                       invert=False, engine="numba")
    f = f[f["mass"].to_numpy() > trackpy_minmass(f["mass"].to_numpy())]
    return f["x"].to_numpy(), f["y"].to_numpy(), 2 * math.sqrt(2) * f["size"].to_numpy()


def trackpy_minmass(mass):
    """minmass from the masses of all candidates, by one rule for every photo.

    When log(mass) is clearly bimodal (skin texture vs dots), Otsu's split of
    it; Ashman's D > 4 is the test (Otsu's split of a single normal population
    gives D = 2.65). Otherwise every candidate is taken for a dot and the
    threshold is a quarter of the 99th-percentile mass. Otsu alone halves the
    dots of a photo without bare skin (blowout); the fraction alone lets
    stubble fragments through.
    """
    from skimage.filters import threshold_otsu

    if mass.size < 10:
        return 0.0
    lm = np.log(np.maximum(mass, 1e-9))
    t = threshold_otsu(lm)
    lo, hi = lm[lm <= t], lm[lm > t]
    d = math.sqrt(2) * (hi.mean() - lo.mean()) / math.sqrt(lo.var() + hi.var() + 1e-12)
    return float(np.exp(t)) if d > 4 else 0.25 * float(np.percentile(mass, 99))


SEP_THRESH = 5.0  # x global background RMS; best of 1.5/3/5/10 on good_light, seed 100


def run_sep(rgb, geo):
    """sep.extract (SExtractor) on the inverted, background-subtracted grey."""
    import sep

    data = _inverted(rgb, np.float32)
    sep.set_sub_object_limit(4096)  # deblending of dense dot fields needs more than 1024
    # Background mesh: 2x the largest expected dot, so dots never dominate a mesh cell.
    box = max(32, int(2 * geo.d_hi))
    bkg = sep.Background(data, bw=box, bh=box, fw=3, fh=3)
    data = data - bkg.back()
    # minarea: the pixel area of the smallest expected dot.
    minarea = max(3, int(math.pi * (geo.d_lo / 2) ** 2))
    objs = _sep_extract(data, SEP_THRESH, bkg.globalrms, minarea)
    # Diameter from the half-light radius (SExtractor's FLUX_RADIUS) within 6 a: for a uniform
    # disc r_half = R / sqrt(2). Blur-proof, unlike the isophotal 2 sqrt(npix / pi).
    r_half, _ = sep.flux_radius(data, objs["x"], objs["y"], 6.0 * objs["a"], 0.5,
                                normflux=objs["flux"], subpix=5)
    return objs["x"], objs["y"], 2 * math.sqrt(2) * r_half


def _sep_extract(data, thresh, rms, minarea):
    """sep.extract with a pixel stack grown only when it overflows.

    The stack holds the pixels of objects still open on the current rows, so
    the default 300 000 suffices for 12 MP of small dots; sizing it to the whole
    image would cost ~40 bytes a pixel (110 MB at 3 MP) for nothing.
    """
    import sep

    stack = 300_000
    while True:
        sep.set_extract_pixstack(stack)
        try:
            return sep.extract(data, thresh, err=rms, minarea=minarea)
        except Exception as exc:  # sep raises a bare Exception when the buffer is full
            if "pixel buffer full" not in str(exc) or stack >= data.size:
                raise
            stack = min(4 * stack, data.size)


# Scale-normalised LoG response; a disc of contrast c (0-1) peaks at 0.74 c. skimage's defaults
# (0.2 for LoG, 0.5 for DoG) find almost no dots; 0.05 and 0.1 score alike on good_light.
BLOB_THRESH = 0.1


def _blob_sigmas(geo):
    """sigma range of the expected dot radii (radius = sqrt(2) sigma)."""
    return geo.d_lo / (2 * math.sqrt(2)), geo.d_hi / (2 * math.sqrt(2))


def run_blob_log(rgb, geo):
    """skimage.feature.blob_log on the inverted grey in [0, 1]."""
    from skimage.feature import blob_log

    lo, hi = _blob_sigmas(geo)
    img = _inverted(rgb, np.float32) / 255.0
    # num_sigma 10 (the default) over the 10x range of diameters: ~26 % steps.
    b = blob_log(img, min_sigma=lo, max_sigma=hi, num_sigma=10, threshold=BLOB_THRESH)
    return b[:, 1], b[:, 0], 2 * math.sqrt(2) * b[:, 2]


def run_blob_dog(rgb, geo):
    """skimage.feature.blob_dog on the inverted grey in [0, 1] (same threshold as blob_log).

    skimage scales the DoG by 1 / (sigma_ratio - 1), which makes it the
    scale-normalised LoG, so the LoG threshold applies unchanged.
    """
    from skimage.feature import blob_dog

    lo, hi = _blob_sigmas(geo)
    img = _inverted(rgb, np.float32) / 255.0
    b = blob_dog(img, min_sigma=lo, max_sigma=hi, sigma_ratio=1.6, threshold=BLOB_THRESH)
    return b[:, 1], b[:, 0], 2 * math.sqrt(2) * b[:, 2]


def run_opencv_sbd(rgb, geo):
    """cv2.SimpleBlobDetector for dark blobs on the grey image."""
    import cv2

    p = cv2.SimpleBlobDetector_Params()
    p.filterByColor, p.blobColor = True, 0  # dark blobs
    # Thresholds 20..240 in steps of 10 cover every skin tone; a blob must persist over 2.
    p.minThreshold, p.maxThreshold, p.thresholdStep, p.minRepeatability = 20, 240, 10, 2
    p.filterByArea = True  # area of the expected diameter range
    p.minArea, p.maxArea = math.pi * (geo.d_lo / 2) ** 2, math.pi * (geo.d_hi / 2) ** 2
    p.minDistBetweenBlobs = geo.d_lo  # twins overlap, so allow centres one small dot apart
    p.filterByCircularity = False  # pixelated 3-6 px discs measure poorly circular
    p.filterByInertia, p.minInertiaRatio = True, 0.3  # rejects hairs (default 0.1 lets most in)
    p.filterByConvexity, p.minConvexity = True, 0.8  # default 0.95 rejects small noisy discs
    kps = cv2.SimpleBlobDetector_create(p).detect(_gray(rgb))
    xy = np.array([k.pt for k in kps], float).reshape(-1, 2)
    return xy[:, 0], xy[:, 1], np.array([k.size for k in kps], float)


DAO_K = 5.0  # threshold in sigma-clipped standard deviations of the inverted grey


def run_daofind(rgb, geo):
    """photutils DAOStarFinder on the inverted grey minus its sigma-clipped median."""
    from astropy.stats import sigma_clipped_stats
    from photutils.detection import DAOStarFinder

    data = _inverted(rgb, np.float32)
    _, med, std = sigma_clipped_stats(data, sigma=3.0)
    # fwhm = typical diameter: the Gaussian that best matches a blurred 0.3 mm disc.
    # min_separation = smallest dot: photutils 3's default 2.5 fwhm would merge near neighbours.
    finder = DAOStarFinder(threshold=DAO_K * std, fwhm=geo.d_typ, min_separation=geo.d_lo)
    tab = finder(data - med)
    if tab is None:
        return np.zeros(0), np.zeros(0), None
    # DAOFIND returns no per-source size; the diameter error is left NaN.
    xc, yc = ("x_centroid", "y_centroid") if "x_centroid" in tab.colnames else ("xcentroid",
                                                                             "ycentroid")
    return np.asarray(tab[xc], float), np.asarray(tab[yc], float), None


# name -> (function, modules it needs)
METHODS = {
    "smpqa": (run_smpqa, ("smpqa.detect", "cv2")),
    "trackpy": (run_trackpy, ("trackpy", "pandas", "numba", "skimage", "cv2")),
    "sep": (run_sep, ("sep", "cv2")),
    "blob_log": (run_blob_log, ("skimage", "cv2")),
    "blob_dog": (run_blob_dog, ("skimage", "cv2")),
    "opencv_sbd": (run_opencv_sbd, ("cv2",)),
    "daofind": (run_daofind, ("photutils", "astropy", "cv2")),
}


def available_methods(names):
    """Split the requested method names into runnable ones and notes on the rest.

    Parameters
    ----------
    names : list of str

    Returns
    -------
    (list of str, list of str)
        Runnable names, and one note per skipped method.
    """
    ok, notes = [], []
    for name in names:
        if name not in METHODS:
            notes.append(f"{name}: unknown method (known: {', '.join(METHODS)})")
            continue
        missing = [m for m in METHODS[name][1] if not _installed(m)]
        if missing:
            notes.append(f"{name}: skipped, missing {', '.join(missing)}")
        else:
            ok.append(name)
    return ok, notes


def _installed(module):
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


# --- measuring one method in a fresh process ------------------------------------------------


def _reset_peak_rss():
    """Reset the kernel's peak-RSS mark (Linux); False when that is not possible.

    A spawn child's ``ru_maxrss`` starts at its *parent's* peak (the kernel
    carries it over the exec), so without a reset a child that stays below
    the parent's peak would report no growth at all.
    """
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mb(source):
    """Peak resident set size of this process, MB, from VmHWM or ``ru_maxrss``."""
    if source == "VmHWM":
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 2**20 if sys.platform == "darwin" else r / 2**10  # bytes on macOS, else KiB


def _timed(func, *args):
    """(output, wall seconds, CPU seconds of all the process's threads) of one call."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = func(*args)
    return out, time.perf_counter() - t0, time.process_time() - c0


def _load(name, image_path):
    """The method's function, the RGB image, and the seconds taken to import its modules.

    Every method's modules are imported here, before its first call is timed: smpqa's
    package loads its detector (and numba) lazily, on ``from smpqa import detect_dots``,
    as a script does at its top; the peers' packages on ``import``.
    """
    func, modules = METHODS[name]
    rgb = np.load(image_path)
    t0 = time.perf_counter()
    for m in modules:
        importlib.import_module(m)
    return func, rgb, time.perf_counter() - t0


def time_in_child(name, image_path, ppm, repeat, guard_s):
    """First call and warm repeats of one method; meant for a fresh process.

    Parameters
    ----------
    name : str
        Key of :data:`METHODS`.
    image_path : str
        ``.npy`` file of the RGB image.
    ppm : float
        Pixels per mm.
    repeat : int
        Warm calls after the first one.
    guard_s : float
        When a call takes longer, the (further) warm repeats are skipped.

    Returns
    -------
    dict
        x, y, diameter (lists; diameter None when the method measures none),
        import_s (the method's imports), first_s, warm_s and warm_cpu_s
        (medians of the warm calls' wall and CPU times), n_warm, note.
    """
    func, rgb, import_s = _load(name, image_path)
    geo = Geometry(ppm)
    (x, y, d), first, _ = _timed(func, rgb, geo)
    times, cpu, note = [], [], ""
    if first > guard_s:
        note = f"first call {first:.3g} s > {guard_s:.3g} s: no warm repeats"
    while len(times) < repeat and not note:
        _, wall, c = _timed(func, rgb, geo)
        times.append(wall)
        cpu.append(c)
        if wall > guard_s:
            note = f"warm call {wall:.3g} s > {guard_s:.3g} s: repeats stopped"
    med = statistics.median if times else (lambda _: math.nan)
    return {"import_s": import_s, "first_s": first, "warm_s": med(times), "warm_cpu_s": med(cpu),
            "n_warm": len(times), "note": note, "x": np.asarray(x, float).tolist(),
            "y": np.asarray(y, float).tolist(),
            "diameter": None if d is None else np.asarray(d, float).tolist()}


def memory_in_child(name, image_path, ppm, traced):
    """Peak memory of one warm call of a method; meant for a fresh process.

    A call on a 256 x 256 crop first loads the code and JIT caches (with a
    few MB of allocations at most), so the full call's peak-RSS increase is
    the method's working memory, measured before the heap has grown to the
    full image's needs (a second full call would reuse freed heap pages and
    show less).

    Parameters
    ----------
    name : str
        Key of :data:`METHODS`.
    image_path : str
        ``.npy`` file of the RGB image.
    ppm : float
        Pixels per mm.
    traced : bool
        Also run one call under ``tracemalloc``.

    Returns
    -------
    dict
        rss_mb, rss_source (``VmHWM`` or ``ru_maxrss``), traced_mb (NaN unless
        ``traced``).
    """
    func, rgb, _ = _load(name, image_path)
    geo = Geometry(ppm)
    h, w = rgb.shape[:2]
    y0, x0 = max(0, h // 2 - 128), max(0, w // 2 - 128)
    func(np.ascontiguousarray(rgb[y0:y0 + 256, x0:x0 + 256]), geo)
    gc.collect()
    source = "VmHWM" if _reset_peak_rss() else "ru_maxrss"
    base = _peak_rss_mb(source)
    func(rgb, geo)
    res = {"rss_mb": _peak_rss_mb(source) - base, "rss_source": source, "traced_mb": math.nan}
    if traced:
        gc.collect()
        tracemalloc.start()
        try:
            func(rgb, geo)
            res["traced_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()
    return res


#: Methods whose compiled code numba keeps on disk: their first call after install is slower.
COLD_METHODS = ("smpqa",)


def cold_in_child(name, image_path, ppm):
    """The first call of a method with an empty numba cache; meant for a fresh process.

    The cache goes to a new temporary folder (``NUMBA_CACHE_DIR``, read when numba
    is imported), so every kernel is compiled, as on the first call after install;
    the user's own cache is neither read nor changed.

    Returns
    -------
    dict
        cold_s, or error when numba was already imported (the folder would be ignored).
    """
    if "numba" in sys.modules:
        return {"error": "numba was imported before its cache folder could be set"}
    with tempfile.TemporaryDirectory(prefix="smpqa-cold-") as cache:
        os.environ["NUMBA_CACHE_DIR"] = cache
        func, rgb, _ = _load(name, image_path)
        _, first, _ = _timed(func, rgb, Geometry(ppm))
    return {"cold_s": first}


def in_fresh_process(func, *args):
    """``func(*args)`` in a new spawn process; an exception comes back as ``{"error": ...}``."""
    ctx = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as ex:
            return ex.submit(func, *args).result()
    except Exception as exc:  # a failing peer must not stop the benchmark
        return {"error": f"{type(exc).__name__}: {exc}"}


def run_method(name, image_path, ppm, repeat, guard_s):
    """Timing and memory of one method, each measured in its own fresh process."""
    res = in_fresh_process(time_in_child, name, image_path, ppm, repeat, guard_s)
    if "error" in res:
        return res
    traced = res["first_s"] <= guard_s  # tracemalloc slows Python-heavy code several-fold
    mem = in_fresh_process(memory_in_child, name, image_path, ppm, traced)
    if "error" in mem:
        res["note"] = "; ".join(filter(None, [res["note"], f"memory run: {mem['error']}"]))
    else:
        res.update(mem)
    return res


# --- scoring and reporting ------------------------------------------------------------------


def score(photo, res):
    """Detection scores of one method's output against the photo's truth."""
    from smpqa.match import match_dots

    t, ppm = photo.dots, photo.scene.px_per_mm
    s = match_dots(res["x"], res["y"], t["x"], t["y"], t["diameter_px"],
                   pred_diameter_px=res["diameter"], shape=photo.image.shape[:2],
                   border_px=ppm)
    return {"n_det": len(res["x"]), "n_true": int(len(t["x"])), "precision": s.precision,
            "recall": s.recall, "f1": s.f1, "diam_err": s.median_abs_rel_diameter_error,
            "pos_rmse_px": s.position_rmse_px}


COLUMNS = [  # (key, header, format)
    ("preset", "preset", "{}"), ("method", "method", "{}"), ("n_det", "n det", "{}"),
    ("precision", "P", "{:.3f}"), ("recall", "R", "{:.3f}"), ("f1", "F1", "{:.3f}"),
    ("diam_err", "med abs rel dD", "{:.3f}"), ("pos_rmse_px", "pos RMSE px", "{:.2f}"),
    ("warm_s", "warm s", "{:.3f}"), ("warm_cpu_s", "warm CPU s", "{:.3f}"),
    ("import_s", "import s", "{:.3f}"), ("first_s", "first s", "{:.3f}"),
    ("cold_s", "cold s", "{:.1f}"),
    ("rss_mb", "RSS MB", "{:.1f}"), ("rss_x", "RSS x img", "{:.1f}"),
    ("traced_mb", "tracemalloc MB", "{:.1f}"),
    ("note", "note", "{}"),
]


def _cell(fmt, v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return fmt.format(v)


def format_table(rows):
    """The rows as one Markdown table (plain text that reads well in a terminal too)."""
    cells = [[h for _, h, _ in COLUMNS]]
    cells += [[_cell(f, r.get(k)) for k, _, f in COLUMNS] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _json_safe(obj):
    """NaN becomes null and numpy scalars plain numbers, so the file is standard JSON."""
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return None if math.isnan(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def machine_info():
    """Platform, CPU count and library versions, for the JSON file."""
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    for mod in ("numpy", "numba", "scipy", "cv2", "skimage", "trackpy", "sep", "photutils",
                "smpqa"):
        try:
            info[f"{mod}_version"] = importlib.import_module(mod).__version__
        except ImportError:
            info[f"{mod}_version"] = None
    spec = importlib.util.find_spec("smpqa")
    info["smpqa_path"] = spec.origin if spec else None
    info["numba_threads"] = _threads("numba", lambda m: m.config.NUMBA_NUM_THREADS)
    info["cv2_threads"] = _threads("cv2", lambda m: m.getNumThreads())
    return info


def detector_fingerprint():
    """Short SHA-256 of smpqa/detect/*.py, to tell whether the detector changed during a run."""
    import hashlib

    spec = importlib.util.find_spec("smpqa.detect")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = list(spec.submodule_search_locations)[0]
    h = hashlib.sha256()
    for name in sorted(f for f in os.listdir(folder) if f.endswith(".py")):
        with open(os.path.join(folder, name), "rb") as fh:
            h.update(name.encode() + fh.read())
    return h.hexdigest()[:12]


def _loadavg():
    """1-minute load average (NaN where the OS has none): other work skews the timings."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return math.nan


def _threads(module, get):
    try:
        return int(get(importlib.import_module(module)))
    except ImportError:
        return None


def prewarm_smpqa():
    """Call smpqa once here, so that a stale numba cache is rebuilt before anything is timed.

    The children's first calls then measure loading the cache, not compiling.
    """
    from smpqa import synth

    photo = synth.render(synth.preset("good_light", width_px=200, height_px=150))
    run_smpqa(photo.image, Geometry(photo.scene.px_per_mm))


# --- driver ---------------------------------------------------------------------------------


def bench_preset(preset, args, methods, tmpdir, cold=()):
    """Render one preset and measure every method on it; one row per method.

    The methods in ``cold`` also get their first call timed with an empty numba cache.
    """
    from smpqa import synth

    w, h = SIZES[args.size]
    photo = synth.render(synth.preset(preset, width_px=w, height_px=h, seed=args.seed))
    path = os.path.join(tmpdir, f"{preset}.npy")
    np.save(path, photo.image)
    nbytes = photo.image.nbytes
    rows = []
    for name in methods:
        res = run_method(name, path, photo.scene.px_per_mm, args.repeat, args.guard_s)
        row = {"preset": preset, "method": name, "image_bytes": nbytes}
        if "error" in res:
            row["note"] = res["error"]
            print(f"  {preset} / {name}: {res['error']}", file=sys.stderr)
        else:
            row.update(score(photo, res))
            row.update({k: res.get(k, math.nan) for k in (
                "import_s", "first_s", "warm_s", "warm_cpu_s", "n_warm", "rss_mb", "rss_source",
                "traced_mb", "note")})
            row["rss_x"] = res["rss_mb"] * 2**20 / nbytes
            if name in cold:
                c = in_fresh_process(cold_in_child, name, path, photo.scene.px_per_mm)
                row["cold_s"] = c.get("cold_s", math.nan)
                if "error" in c:
                    row["note"] = "; ".join(filter(None, [row["note"], f"cold run: {c['error']}"]))
        rows.append(row)
        print(f"  {preset} / {name}: done", file=sys.stderr, flush=True)
    return rows


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", choices=list(SIZES), default="3mp",
                    help="tiny = 400x300 (smoke tests), 3mp = 2000x1500, 12mp = 4000x3000")
    ap.add_argument("--preset", action="append", dest="presets", metavar="NAME",
                    help=f"simulator preset, repeatable (default: {', '.join(DEFAULT_PRESETS)})")
    ap.add_argument("--seed", type=int, default=0, help="scene seed (default 0)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="warm timing repeats after one warm-up call; the median is reported")
    ap.add_argument("--methods", default=",".join(METHODS),
                    help=f"comma-separated subset of: {', '.join(METHODS)}")
    ap.add_argument("--guard-s", type=float, default=GUARD_S,
                    help="skip the repeats of a method whose first call exceeds this (s)")
    ap.add_argument("--cold", action="store_true",
                    help="also time smpqa's first call with an empty numba cache, as right "
                         "after install (every kernel compiled: about 1.5 minutes), on the "
                         "first preset")
    ap.add_argument("--json", metavar="PATH", help="also write every number to this JSON file")
    args = ap.parse_args(argv)
    args.presets = args.presets or list(DEFAULT_PRESETS)
    if args.repeat < 1:
        ap.error("--repeat must be >= 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    methods, notes = available_methods([m.strip() for m in args.methods.split(",") if m])
    for n in notes:
        print(f"note: {n}")
    if "smpqa" in methods:
        prewarm_smpqa()
    run = {"load_average_start_end": [_loadavg()],
           "smpqa_detect_sha256_start_end": [detector_fingerprint()]}
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        for k, preset in enumerate(args.presets):
            cold = [m for m in methods if m in COLD_METHODS] if args.cold and k == 0 else ()
            rows += bench_preset(preset, args, methods, tmpdir, cold)
    run["load_average_start_end"].append(_loadavg())
    run["smpqa_detect_sha256_start_end"].append(detector_fingerprint())
    if len(set(run["smpqa_detect_sha256_start_end"])) > 1:
        print("warning: smpqa/detect/ changed during the run; its rows may mix two versions")
    print(f"\n{_summary(args, run)}\n")
    print(format_table(rows))
    if args.json:
        write_json(args.json, args, run, notes, rows)
    return 0


def _summary(args, run):
    w, h = SIZES[args.size]
    load = run["load_average_start_end"]
    return (f"{args.size} ({w}x{h}), seed {args.seed}, RGB image {w * h * 3 / 2**20:.1f} MB "
            f"({w * h * 3} bytes), warm = median of {args.repeat}, 1-min load average "
            f"{load[0]:.1f} at start, {load[1]:.1f} at end ({os.cpu_count()} CPUs)")


def write_json(path, args, run, notes, rows):
    """Every number of the run, with the settings and the machine, as standard JSON."""
    w, h = SIZES[args.size]
    out = {"size": args.size, "width": w, "height": h, "seed": args.seed,
           "repeat": args.repeat, "guard_s": args.guard_s, "image_bytes": w * h * 3, **run,
           "machine": machine_info(), "notes": notes, "rows": rows}
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(_json_safe(out), fh, indent=1)


if __name__ == "__main__":
    sys.exit(main())
