"""Audit many photos: resumable, atomic, on local processes or a Dask cluster.

Each photo's result is written as ``OUTDIR/results/<key>.json`` (and ``.html``)
the moment it is done, atomically, so a batch killed half-way loses nothing:
run it again and it picks up where it stopped. ``summary.csv`` and
``index.html`` are rebuilt from those files at the end of every run; the
temporary files a killed run left behind are deleted at its start and end (so
two batches must not share an output folder at the same time). A local worker
process that dies (a crash while decoding, the out-of-memory killer) costs at
most the photo it was working on, which is listed as an error.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import html
import io
import json
import math
import multiprocessing
import os
import re
import traceback
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ._numbers import is_integer
from .io import write_text_atomic
from .profile import CRITERIA

if TYPE_CHECKING:  # the annotation only: keep `import smpqa.batch` light
    from .calibrate import Marker

__all__ = ["BatchOptions", "find_photos", "run_batch", "photo_key", "summary_row",
           "PHOTO_SUFFIXES"]

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_WORKER_DEATHS = 8  # worker crashes (segfault, OOM kill) one run tolerates before it gives up


@dataclass(frozen=True)
class BatchOptions:
    """What to do with each photo of a batch.

    Attributes
    ----------
    px_per_mm : float or None
        Scale for every photo (else each photo's marker or metadata).
    marker : smpqa.Marker or None
        The printed marker in every photo (see :func:`smpqa.analyze`).
    roi : str or None
        Region of interest for every photo: a mask or JSON polygon path, or
        ``"auto"``.
    profile : dict or None
        Profile as a dict (``Profile.to_dict()``), so it travels to workers.
    view : str or None
    html : bool
        Write a report per photo.
    force : bool
        Redo photos already done.
    """

    px_per_mm: float | None = None
    profile: dict | None = field(default=None)
    marker: Marker | None = None
    roi: str | None = None
    view: str | None = None
    html: bool = True
    force: bool = False


def find_photos(spec) -> list[Path]:
    """Photos named by a folder (searched recursively) or a glob pattern, sorted.

    Raises
    ------
    FileNotFoundError
        Nothing matches.
    """
    p = Path(spec)
    if p.is_dir():
        found = [f for f in p.rglob("*") if f.suffix.lower() in PHOTO_SUFFIXES]
    else:
        found = [Path(f) for f in glob.glob(str(spec), recursive=True)]
    found = sorted(f for f in found if not f.is_dir() or f.suffix.lower() in PHOTO_SUFFIXES)
    if not found:
        raise FileNotFoundError(f"no photos found at {spec!s} (looked for "
                                f"{', '.join(PHOTO_SUFFIXES)})")
    return found


def photo_key(path) -> str:
    """A file name for a photo's results: safe characters only, unique by its full path."""
    p = Path(path)
    digest = hashlib.sha1(os.fsencode(os.path.abspath(p))).hexdigest()[:10]
    stem = _SAFE.sub("_", p.stem).strip("._")[:60] or "photo"
    return f"{stem}-{digest}"


def summary_row(photo, result: dict | None, error: str | None = None) -> dict:
    """One summary.csv row: the photo, its grade, each verdict and every metric."""
    row = {"photo": str(photo), "status": "error" if error else "ok", "error": error or "",
           "grade": "", "n_dots": ""}
    for c in CRITERIA:
        row[f"{c}"] = ""
    if result:
        row["grade"] = result["grade"]["status"]
        row["n_dots"] = result["n_dots"]
        row["px_per_mm"] = result["scale"]["px_per_mm"]
        row["glare_fraction"] = result.get("glare_fraction", "")  # results of older versions
        for c in CRITERIA:
            row[c] = result["verdicts"][c]["status"]
        for c, values in result["metrics"].items():
            for k, v in values.items():
                row[f"{c}.{k}"] = "" if v is None else v
    return row


def _remove_stale_temps(outdir: Path) -> None:
    """Delete the ``.*.tmp`` files a killed run or worker left half-written (never read)."""
    for folder in (outdir, outdir / "results"):
        for tmp in folder.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)


def process_photo(photo, outdir, options: BatchOptions) -> dict:
    """Analyse one photo and write its results; never raises for a bad photo.

    Returns
    -------
    dict
        ``{"photo", "key", "row", "skipped"}``.
    """
    from .analysis import analyze

    photo = Path(photo)
    key = photo_key(photo)
    res_dir = Path(outdir) / "results"
    json_path = res_dir / f"{key}.json"
    if json_path.exists() and not options.force:
        try:
            saved = json.loads(json_path.read_text(encoding="utf-8"))
            return {"photo": str(photo), "key": key, "row": saved["summary_row"], "skipped": True}
        except (OSError, ValueError, KeyError):
            pass  # unreadable leftovers are redone
    try:
        a = analyze(photo, px_per_mm=options.px_per_mm, marker=options.marker,
                    profile=options.profile, roi=options.roi, view=options.view)
        result = a.to_dict()
        row = summary_row(photo, result)
        if options.html:
            from .io import load_image
            from .report import render_html

            write_text_atomic(res_dir / f"{key}.html", render_html(a, load_image(photo)))
        write_text_atomic(json_path, json.dumps({**result, "summary_row": row}, indent=1,
                                            allow_nan=False))
    except Exception as exc:  # one bad photo must never stop a batch
        row = summary_row(photo, None, f"{type(exc).__name__}: {exc}")
        row["traceback"] = traceback.format_exc(limit=3)
    return {"photo": str(photo), "key": key, "row": row, "skipped": False}


def _write_summary(outdir: Path, rows: list[dict]) -> Path:
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols and k != "traceback"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    path = outdir / "summary.csv"
    write_text_atomic(path, buf.getvalue())
    return path


def _glare_cell(value) -> str:
    """The share of the photo whose glare was taken out, as the index shows it.

    "none" for 0; empty for a result of an older version, which did not record it.
    """
    try:
        frac = float(value)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(frac):
        return ""
    return f"{100 * frac:.1f} %" if frac > 0 else "none"


def _write_index(outdir: Path, results: list[dict], with_html: bool) -> Path:
    e = html.escape
    lines = ["<!doctype html><html><head><meta charset='utf-8'>",
             "<meta name='viewport' content='width=device-width, initial-scale=1'>",
             "<title>smpqa batch</title><style>body{font-family:sans-serif;margin:1em}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px}"
             ".pass{background:#d4f7d4}.warn{background:#ffe9b3}.fail{background:#ffc9c9}"
             ".error{background:#eee}</style></head><body>",
             f"<h1>smpqa batch: {len(results)} photos</h1><table><tr><th>photo</th><th>grade</th>"
             + "".join(f"<th>{c}</th>" for c in CRITERIA) + "<th>dots</th><th>glare</th></tr>"]
    for r in results:
        row = r["row"]
        name = e(Path(r["photo"]).name)
        link = (f"<a href='results/{e(r['key'])}.html'>{name}</a>"
                if with_html and row["status"] == "ok" else name)
        if row["status"] != "ok":
            lines.append(f"<tr class='error'><td>{link}</td><td colspan='{len(CRITERIA) + 3}'>"
                         f"{e(row['error'])}</td></tr>")
            continue
        cells = "".join(f"<td class='{e(row[c])}'>{e(row[c])}</td>" for c in CRITERIA)
        lines.append(f"<tr><td>{link}</td><td class='{e(row['grade'])}'>{e(row['grade'])}</td>"
                     f"{cells}<td class='n-dots'>{e(str(row['n_dots']))}</td>"
                     f"<td class='glare'>{_glare_cell(row.get('glare_fraction'))}</td></tr>")
    lines.append("</table></body></html>")
    path = outdir / "index.html"
    write_text_atomic(path, "\n".join(lines))
    return path


def run_batch(photos, outdir, options: BatchOptions | None = None, *, jobs=1, scheduler=None,
              progress=True) -> dict:
    """Audit photos into ``outdir``; see the module docstring.

    Parameters
    ----------
    photos : list of path
    outdir : path
    options : BatchOptions, optional
    jobs : int
        Local worker processes (1 = in this process).
    scheduler : str, optional
        Address of a running Dask distributed scheduler; the same work is sent
        there instead (needs the ``dist`` extra).
    progress : bool
        Show a tqdm progress bar on stderr.

    Returns
    -------
    dict
        ``summary`` (path), ``index`` (path), ``n_ok``, ``n_error``, ``n_skipped``,
        ``rows`` (in input order).

    Raises
    ------
    TypeError
        ``photos`` is a single path, or ``options`` is not a BatchOptions.
    ValueError
        ``jobs`` is not an integer >= 1.
    """
    if isinstance(photos, (str, os.PathLike)):  # would be read one character at a time
        raise TypeError(f"photos must be a list of paths, not one path ({photos!r}); "
                        f"find_photos() lists a folder or a pattern")
    if not (is_integer(jobs) and jobs >= 1):
        raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
    options = BatchOptions() if options is None else options
    if not isinstance(options, BatchOptions):
        raise TypeError(f"options must be a smpqa.batch.BatchOptions, not "
                        f"{type(options).__name__}")
    outdir = Path(outdir)
    (outdir / "results").mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(outdir)  # a batch must not share its output folder with another
    photos = [Path(p) for p in photos]
    done = {}
    for res in _execute(photos, outdir, options, jobs, scheduler, progress):
        done[res["photo"]] = res
    _remove_stale_temps(outdir)  # every worker has stopped: what a killed one left is junk
    results = [done[str(p)] for p in photos]
    rows = [r["row"] for r in results]
    return {
        "summary": _write_summary(outdir, rows),
        "index": _write_index(outdir, results, options.html),
        "n_ok": sum(r["status"] == "ok" for r in rows),
        "n_error": sum(r["status"] == "error" for r in rows),
        "n_skipped": sum(r["skipped"] for r in results),
        "rows": rows,
    }


def _execute(photos, outdir, options, jobs, scheduler, progress):
    from tqdm import tqdm

    bar = tqdm(total=len(photos), disable=not progress, unit="photo", desc="smpqa batch")
    try:
        if scheduler:
            yield from _on_dask(photos, outdir, options, scheduler, bar)
        elif jobs > 1:
            yield from _on_local_pool(photos, outdir, options, jobs, bar)
        else:
            for p in photos:
                res = process_photo(p, outdir, options)
                bar.update()
                yield res
    finally:
        bar.close()


def _on_local_pool(photos, outdir, options, jobs, bar):
    """Run photos on `jobs` local processes; a worker that dies costs at most its own photo.

    A worker killed by a crash while decoding or by the out-of-memory killer breaks the
    whole pool. The photos that were running are then retried one at a time in a new
    pool, so a photo that kills a worker again is found and listed as an error, and the
    rest of the batch goes on.
    """
    todo, suspects = deque(photos), deque()
    deaths = 0
    while todo or suspects:
        if deaths >= _MAX_WORKER_DEATHS:
            for p in (*suspects, *todo):
                bar.update()
                yield _failed(p, f"not analysed: worker processes died {deaths} times in this "
                                 "run; run the batch again to retry")
            return
        # spawn, not fork: numba's OpenMP threads do not survive a fork.
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_share_cores,
                                 initargs=(max(1, _cpu_count() // jobs),)) as pool:
            lost = yield from _drain(pool, todo, suspects, outdir, options, jobs, bar)
        if not lost:
            continue
        deaths += 1
        if len(lost) > 1:
            suspects.extend(lost)
            continue
        bar.update()
        yield _failed(lost[0], "a worker process died while analysing this photo (a crash "
                               "while decoding it, or out of memory)")


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _share_cores(threads: int) -> None:
    """Limit a worker's numba and OpenCV threads to its share of the cores.

    By default every worker starts one thread per core, and `jobs` workers then
    fight over the cores: a batch ran about 3x slower (2 workers on 2 cores).
    """
    try:
        import cv2
        import numba

        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
        cv2.setNumThreads(max(1, threads))
    except Exception:  # threads are only a matter of speed: never fail a worker over them
        pass


def _drain(pool, todo, suspects, outdir, options, jobs, bar):
    """Feed `pool` photos until all are done; return those in flight if the pool breaks.

    At most `jobs` photos are in flight, and a suspect runs alone, so a break
    implicates only the photos that were running. Yields each finished result.
    """
    running = {}
    while todo or suspects or running:
        while (suspects or todo) and len(running) < (1 if suspects else jobs):
            p = (suspects or todo).popleft()
            try:
                running[pool.submit(process_photo, p, outdir, options)] = p
            except BrokenProcessPool:
                return [p, *running.values()]
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        broken = False
        for f in done:
            try:
                res = f.result()
            except BrokenProcessPool:
                broken = True
                continue
            except Exception as exc:  # e.g. a result that cannot be sent back: one photo's error
                res = _failed(running[f], f"{type(exc).__name__}: {exc}")
            del running[f]
            bar.update()
            yield res
        if broken:
            return list(running.values())
    return []


def _failed(photo, error: str) -> dict:
    """The result of a photo that could not be analysed for a reason outside the photo."""
    return {"photo": str(photo), "key": photo_key(photo),
            "row": summary_row(photo, None, error), "skipped": False}


def _on_dask(photos, outdir, options, address, bar):
    try:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed
    except ImportError as exc:
        raise ImportError("--scheduler needs dask.distributed: pip install 'smpqa[dist]'") from exc
    with Client(address, timeout="30s") as client:
        futs = client.map(process_photo, [str(p) for p in photos], outdir=str(outdir),
                          options=options, pure=False)
        for f in dask_completed(futs):
            bar.update()
            yield f.result()
