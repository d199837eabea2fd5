"""Run every benchmark with one command and record the results.

1. the detection benchmark (``bench_detect.py``: smpqa and its peers, accuracy,
   time and memory) and, when present, ``bench_analyze.py`` (time per stage),
   each in a subprocess with ``--json``;
2. the evaluation of smpqa's detections and verdicts on a fixed simulated
   data set (fixed seed), built in a temporary folder
   (:func:`smpqa.research.make_dataset` + :func:`smpqa.research.evaluate`).

Writes ``OUT/benchmarks-YYYY-MM-DD.json`` (``-quick`` added for ``--quick``)
with every number, and replaces the section between ``<!-- run_all:begin -->``
and ``<!-- run_all:end -->`` of docs/benchmarks.md with Markdown tables (the
rest of that file is left as it is; the file is made if missing).

Examples
--------
    python benchmarks/run_all.py --quick          # about 2 minutes
    python benchmarks/run_all.py                  # the full run, about 11 minutes
    python benchmarks/run_all.py --out /tmp/b --markdown /tmp/b/benchmarks.md
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BEGIN, END = "<!-- run_all:begin -->", "<!-- run_all:end -->"
BENCHES = ("bench_detect.py", "bench_analyze.py")
DATASET_SEED = 20240601  # fixed: every run scores the same photos
#: Settings of the two modes. Bench presets None: each script's own default.
MODES = {
    "full": {"bench_size": "3mp", "bench_repeat": 3, "bench_presets": None,
             "dataset_size": "small", "per_preset": 3, "n_boot": 1000},
    "quick": {"bench_size": "tiny", "bench_repeat": 1, "bench_presets": ["good_light", "blowout"],
              "dataset_size": "600x450", "per_preset": 1, "n_boot": 1000},
}


# --- the parts ----------------------------------------------------------------------------


def _help_text(script: Path) -> str:
    r = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True,
                       timeout=120)
    return r.stdout


def bench_argv(script: Path, cfg: dict, json_path: Path) -> list[str]:
    """Command line for a benchmark script, with only the options its --help lists.

    The scripts share option names (--size, --repeat, --preset, --json), but a
    script that lacks one must still run rather than fail on an unknown option.
    """
    helptext = _help_text(script)
    argv = [sys.executable, str(script)]
    if "--size" in helptext:
        argv += ["--size", cfg["bench_size"]]
    if "--repeat" in helptext:
        argv += ["--repeat", str(cfg["bench_repeat"])]
    if "--preset" in helptext:
        for p in cfg["bench_presets"] or ():
            argv += ["--preset", p]
    return argv + ["--json", str(json_path)]


def run_bench(script: Path, cfg: dict, tmp: Path) -> dict:
    """Run one benchmark script; its JSON, or ``{"error": ...}`` when it failed."""
    out = tmp / f"{script.stem}.json"
    argv = bench_argv(script, cfg, out)
    print(f"running {' '.join(Path(a).name if a == str(script) else a for a in argv[1:])}",
          file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0 or not out.is_file():
        return {"error": f"exit {r.returncode}: {r.stderr.strip()[-1500:]}", "argv": argv[1:]}
    data = json.loads(out.read_text(encoding="utf-8"))
    data["argv"] = [Path(argv[1]).name, *argv[2:-2]]  # the temp --json path is noise
    data["elapsed_s"] = time.perf_counter() - t0
    return data


def run_evaluation(cfg: dict, tmp: Path):
    """Build the fixed data set and evaluate smpqa on it; returns the Evaluation."""
    from smpqa.research import evaluate, make_dataset

    folder = tmp / "dataset"
    make_dataset(folder, per_preset=cfg["per_preset"], seed=DATASET_SEED,
                 size=cfg["dataset_size"], progress=True)
    return evaluate(folder, run="smpqa", n_boot=cfg["n_boot"], seed=0, progress=True)


# --- Markdown -----------------------------------------------------------------------------


def _fmt(v, spec="{:.3f}") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return spec.format(v)


def md_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def detect_section(data: dict) -> str:
    if "error" in data:
        return f"Detection benchmark failed: `{data['error'].splitlines()[-1]}`"
    head = ["preset", "method", "P", "R", "F1", "med abs rel dD", "pos RMSE px", "warm s",
            "RSS MB"]
    rows = [[r.get("preset", ""), r.get("method", ""), _fmt(r.get("precision")),
             _fmt(r.get("recall")), _fmt(r.get("f1")), _fmt(r.get("diam_err")),
             _fmt(r.get("pos_rmse_px"), "{:.2f}"), _fmt(r.get("warm_s")),
             _fmt(r.get("rss_mb"), "{:.1f}")] for r in data.get("rows", [])]
    size = f"{data.get('size')}, {data.get('width')}x{data.get('height')} px"
    notes = "".join(f"\n\nNote: {n}" for n in data.get("notes", []))
    intro = f"`bench_detect.py` ({size}, seed {data.get('seed')}):\n\n"
    return intro + md_table(head, rows) + notes


def analyze_section(data: dict) -> str:
    if "error" in data:
        return f"Analysis benchmark failed: `{data['error'].splitlines()[-1]}`"
    rows = data.get("rows", [])
    if not rows:
        return "`bench_analyze.py` reported no rows."
    head = list(rows[0])
    cells = [[_fmt(r[k]) if isinstance(r[k], float) else str(r[k]) for k in head] for r in rows]
    return "`bench_analyze.py` (warm seconds per stage):\n\n" + md_table(head, cells)


def _ci(s: dict, key: str) -> str:
    lo, hi = s.get(f"{key}_ci") or (None, None)
    if lo is None or s.get("n_photos", 0) < 2:
        return _fmt(s.get(key))
    return f"{_fmt(s.get(key))} [{_fmt(lo)}, {_fmt(hi)}]"


def evaluation_section(ev: dict, cfg: dict) -> str:
    head = ["preset", "photos", "true dots", "precision", "recall", "F1", "diam bias",
            "diam abs err", "pos RMSE px"]

    def row(name, s):
        return [name, str(s["n_photos"]), str(s["n_true"]), _ci(s, "precision"),
                _ci(s, "recall"), _ci(s, "f1"), _fmt(_pct(s["diameter_bias_rel"]), "{:+.1f} %"),
                _fmt(_pct(s["diameter_median_abs_rel"]), "{:.1f} %"),
                _fmt(s["position_rmse_px"], "{:.2f}")]

    rows = [row(k, v) for k, v in ev["presets"].items()] + [row("**all**", ev["overall"])]
    m = ev["meta"]
    text = (f"smpqa on a fixed data set (`make_dataset(seed={DATASET_SEED}, "
            f"per_preset={cfg['per_preset']}, size=\"{cfg['dataset_size']}\")`, "
            f"{m['n_photos']} photos; `evaluate(run=\"smpqa\")`). 1 mm border ignored; "
            f"[95 % CI]: bootstrap over photos ({m['n_boot']} resamples), shown for groups of "
            f"2 photos or more. Diameter bias: median (found − true) / true.\n\n")
    return text + md_table(head, rows)


def _pct(v):
    return None if v is None else 100 * v


def verdict_section(ev: dict) -> str:
    v = ev.get("verdicts")
    if not v:
        return "No verdicts."
    head = ["criterion", "agree", "fails caught", "false fails", "expected fail → pass/warn/n.a."]
    rows = []
    for c, s in v.items():
        miss = s["matrix"]["fail"]
        rows.append([c, f"{s['agree']}/{s['n']}", f"{s['fails_caught']}/{s['n_expected_fail']}",
                     f"{s['false_fails']}/{s['n_expected_pass_or_warn']}",
                     f"{miss['pass']}/{miss['warn']}/{miss['not_applicable']}"])
    return ("Verdicts with the default profile against each preset's expectation "
            "(`pass_or_warn` agrees with pass or warn; the hairline of a scene without one "
            "should be `not_applicable`):\n\n" + md_table(head, rows))


def markdown(result: dict, json_path: Path, md_path: Path) -> str:
    """The section that goes between the markers."""
    cfg, mode = result["config"], "`--quick`" if result["quick"] else "full"
    link = os.path.relpath(json_path, md_path.parent)
    parts = [
        "## Latest `run_all.py` results",
        f"{mode} run of `python benchmarks/run_all.py` on {result['date']} (smpqa "
        f"{result['smpqa_version']}, commit {result['commit'] or 'unknown'}, "
        f"{result['platform']}, {result['cpu_count']} CPUs). Every number: "
        f"[{Path(link).name}]({link})."
        + (" Quick runs use small photos and one timing repeat: a smoke check, not numbers to "
           "quote." if result["quick"] else ""),
        "### Detection: smpqa and general-purpose spot finders",
        detect_section(result["benchmarks"].get("bench_detect", {"error": "not run"})),
    ]
    if "bench_analyze" in result["benchmarks"]:
        parts += ["### Analysis time per stage", analyze_section(result["benchmarks"]
                                                                 ["bench_analyze"])]
    parts += ["### Detection accuracy with confidence intervals",
              evaluation_section(result["evaluation"], cfg),
              "### Verdict agreement", verdict_section(result["evaluation"])]
    return "\n\n".join(parts)


def replace_section(md_path: Path, body: str) -> None:
    """Put ``body`` between the markers of ``md_path``, leaving everything else as it is."""
    block = f"{BEGIN}\n{body.rstrip()}\n{END}"
    if md_path.is_file():
        text = md_path.read_text(encoding="utf-8")
        b, e = text.find(BEGIN), text.find(END)
        if b >= 0 and e > b:
            text = text[:b] + block + text[e + len(END):]
        elif b >= 0 or e >= 0:
            raise SystemExit(f"{md_path}: only one of the run_all markers is there; fix the "
                             f"file by hand (both {BEGIN} and {END}, in that order)")
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
    else:
        text = block + "\n"
    _atomic_write(md_path, text)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# --- driver -------------------------------------------------------------------------------


def _commit() -> str | None:
    try:
        r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                           capture_output=True, text=True, timeout=10)
    except OSError:
        return None
    return r.stdout.strip() or None


def _json_safe(obj):
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="examples:\n  python benchmarks/run_all.py --quick\n"
                                        "  python benchmarks/run_all.py --out docs/benchmarks")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks"),
                    help="folder of the dated JSON (default docs/benchmarks)")
    ap.add_argument("--markdown", default=str(ROOT / "docs" / "benchmarks.md"),
                    help="Markdown file whose run_all section is replaced "
                         "(default docs/benchmarks.md)")
    ap.add_argument("--quick", action="store_true",
                    help="tiny photos, two presets, one repeat, a 600x450 data set")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import smpqa

    cfg = MODES["quick" if args.quick else "full"]
    today = _dt.date.today().isoformat()
    result = {"date": today, "quick": args.quick, "config": cfg, "commit": _commit(),
              "smpqa_version": smpqa.__version__, "platform": platform.platform(),
              "python": platform.python_version(), "cpu_count": os.cpu_count(),
              "dataset_seed": DATASET_SEED, "benchmarks": {}}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="smpqa-run-all-") as tmp:
        for name in BENCHES:
            if (HERE / name).is_file():
                result["benchmarks"][Path(name).stem] = run_bench(HERE / name, cfg, Path(tmp))
        ev = run_evaluation(cfg, Path(tmp))
    result["evaluation"] = ev.to_dict()
    result["elapsed_s"] = time.perf_counter() - t0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / f"benchmarks-{today}{'-quick' if args.quick else ''}.json"
    _atomic_write(json_path, json.dumps(_json_safe(result), indent=1, allow_nan=False) + "\n")
    md_path = Path(args.markdown)
    body = markdown(result, json_path, md_path)
    replace_section(md_path, body)
    print(body)
    print(f"\nwrote {json_path}\nupdated {md_path} (between {BEGIN} and {END})")
    failed = [k for k, v in result["benchmarks"].items() if "error" in v]
    if failed:
        print(f"failed: {', '.join(failed)} (see the JSON)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
