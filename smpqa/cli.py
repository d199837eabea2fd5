"""The ``smpqa`` command line: a thin front end over the public API."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from ._jit import first_run_notice
from ._sizes import PHOTO_SIZES
from .errors import SmpqaError
from .profile import CRITERIA, STATUSES

__all__ = ["main"]

_FMT = argparse.RawDescriptionHelpFormatter


class _UsageError(Exception):
    pass


def _profile_arg(path):
    from .profile import Profile

    return None if path is None else Profile.load(path)


def _marker_arg(args):
    """The --marker-* flags as a Marker, or None without --marker-mm."""
    if args.marker_mm is None:
        if args.marker_id is not None or args.marker_dict != "DICT_4X4_50":
            raise _UsageError("--marker-dict and --marker-id need --marker-mm (the printed "
                              "marker's side in mm)")
        return None
    from .calibrate import Marker

    try:
        return Marker(side_mm=args.marker_mm, dictionary=args.marker_dict, id=args.marker_id)
    except ValueError as exc:
        raise _UsageError(str(exc)) from exc


def _fails(statuses, fail_on) -> bool:
    # STATUSES runs from not_applicable to fail.
    return fail_on is not None and any(STATUSES.index(s) >= STATUSES.index(fail_on)
                                       for s in statuses)


# --- synth ----------------------------------------------------------------------------------------

def _cmd_synth(args) -> int:
    from . import synth

    if args.list:
        width = max(len(n) for n in synth.PRESETS)
        for name, (desc, fails, _) in synth.PRESETS.items():
            tag = f"  [fails: {', '.join(fails)}]" if fails else ""
            print(f"{name:<{width}}  {desc}{tag}")
        return 0
    if not args.preset:
        raise _UsageError("give a preset name (see `smpqa synth --list`)")
    if args.preset not in synth.PRESETS:  # the first mistake first, before a missing --out
        raise _UsageError(f"unknown preset {args.preset!r}; see `smpqa synth --list`")
    if args.out is None:
        raise _UsageError("give --out PHOTO.png")
    w, h = synth.PHOTO_SIZES[args.size]
    overrides = {"seed": args.seed, "width_px": w, "height_px": h}
    if args.px_per_mm is not None:
        overrides["px_per_mm"] = args.px_per_mm
    try:
        scene = synth.preset(args.preset, **overrides)
    except ValueError as exc:
        raise _UsageError(str(exc)) from exc
    if not str(args.out).lower().endswith(".png"):
        raise _UsageError(f"--out must be a .png path (the scale is stored in its metadata); "
                          f"got {args.out!r}")
    paths = synth.render(scene).write(args.out)
    print(f"wrote {paths['image']} (+ {paths['truth_csv'].name}, {paths['truth_json'].name})")
    return 0


# --- analyze --------------------------------------------------------------------------------------

def _verdict_table(a) -> str:
    lines = [f"{a.source}: {a.grade['status'].upper()}  ({len(a.dots)} dots, "
             f"{a.scale['px_per_mm']:g} px/mm from {a.scale['method']})"]
    for c, v in a.verdicts.items():
        first, *more = v.reasons or ("",)
        lines.append(f"  {c:<11} {v.status:<15} {first}")
        # Every further reason (a caveat on the photo, the stubble not compared) on its own line.
        lines.extend(f"  {'':<11} {'':<15} {r}" for r in more)
    return "\n".join(lines)


def _cmd_analyze(args) -> int:
    from .analysis import analyze

    outputs = [args.json, args.csv, args.html]
    if len(args.photos) > 1 and any(outputs):
        raise _UsageError("--json/--csv/--html take one photo; for many use `smpqa batch`")
    profile = _profile_arg(args.profile)
    marker = _marker_arg(args)
    statuses = []
    first_run_notice()
    for photo in args.photos:
        a = analyze(photo, px_per_mm=args.px_per_mm, marker=marker, profile=profile,
                    roi=args.roi, view=args.view)
        print(_verdict_table(a))
        statuses += [v.status for v in a.verdicts.values()]
        if args.json:
            Path(args.json).write_text(a.to_json(), encoding="utf-8")
        if args.csv:
            a.dots.to_csv(args.csv)
        if args.html:
            from .io import load_image
            from .report import render_html, write_html

            write_html(args.html, render_html(a, load_image(photo)))
        for f in filter(None, outputs):
            print(f"wrote {f}")
    return 1 if _fails(statuses, args.fail_on) else 0


# --- batch ----------------------------------------------------------------------------------------

def _cmd_batch(args) -> int:
    from .batch import BatchOptions, find_photos, run_batch

    try:
        photos = find_photos(args.photos)
    except FileNotFoundError as exc:
        raise _UsageError(str(exc)) from exc
    if args.jobs < 1:
        raise _UsageError("--jobs must be at least 1")
    profile = _profile_arg(args.profile)
    opts = BatchOptions(px_per_mm=args.px_per_mm, view=args.view, html=not args.no_html,
                        force=args.force, profile=profile.to_dict() if profile else None,
                        marker=_marker_arg(args), roi=args.roi)
    first_run_notice()
    res = run_batch(photos, args.out, opts, jobs=args.jobs, scheduler=args.scheduler,
                    progress=not args.quiet)
    print(f"{len(photos)} photos: {res['n_ok']} analysed ({res['n_skipped']} already done), "
          f"{res['n_error']} could not be analysed (listed in summary.csv)")
    print(f"summary: {res['summary']}\nindex:   {res['index']}")
    statuses = [r[c] for r in res["rows"] if r["status"] == "ok" for c in CRITERIA]
    return 1 if _fails(statuses, args.fail_on) else 0


# --- demo -----------------------------------------------------------------------------------------

def _cmd_demo(args) -> int:
    from . import synth
    from .analysis import analyze
    from .report import render_comparison_html, write_html

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    items = []
    first_run_notice()
    for name in ("good_light", "botched"):
        photo = synth.render(synth.preset(name, seed=args.seed))
        paths = photo.write(out / f"{name}.png")
        a = analyze(paths["image"])
        (out / f"{name}.json").write_text(a.to_json(), encoding="utf-8")
        print(_verdict_table(a))
        items.append((name.replace("_", " "), a, photo.image))
    report = out / "report.html"
    write_html(report, render_comparison_html(items, title="smpqa demo: good vs botched work"))
    print(f"report: {report.resolve()}")
    return 0


# --- profile --------------------------------------------------------------------------------------

def _cmd_profile(args) -> int:
    from .profile import Profile

    prof = Profile.load(args.profile) if args.profile else Profile.default()
    if args.write:
        Path(args.write).write_text(prof.to_toml(), encoding="utf-8")
        print(f"wrote {args.write}")
    else:
        print(prof.to_toml(), end="")
    return 0


# --- parser ---------------------------------------------------------------------------------------

def _common(p):
    p.add_argument("--px-per-mm", type=float, help="scale at the scalp (default: the photo's "
                   "own metadata, written by `smpqa synth`)")
    p.add_argument("--marker-mm", type=float, metavar="MM",
                   help="a printed ArUco marker of this side (mm, the black square) lies on "
                        "the scalp: take the scale from it and leave it out of the judged "
                        "region (see docs/calibration.md)")
    p.add_argument("--marker-dict", default="DICT_4X4_50", metavar="NAME",
                   help="its cv2.aruco dictionary (default DICT_4X4_50)")
    p.add_argument("--marker-id", type=int, metavar="N",
                   help="its id, when the photo holds more than one marker")
    p.add_argument("--roi", metavar="MASK|POLYGON|auto",
                   help="judge only this region: a mask image of the photo's size (non-zero "
                        "inside), a JSON polygon {\"polygon\": [[x, y], ...]} in pixels, or "
                        "'auto' (the skin-coloured part)")
    p.add_argument("--profile", help="thresholds, TOML or JSON (see `smpqa profile --show`)")
    p.add_argument("--view", choices=["front"], help="front view: judge left/right asymmetry")
    p.add_argument("--fail-on", choices=["warn", "fail"],
                   help="exit 1 when any verdict is at least this bad")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="smpqa", description="Judge scalp micropigmentation work from photographs.",
        epilog="examples:\n  smpqa demo\n  smpqa analyze photo.jpg --px-per-mm 20 --html r.html\n"
               "  smpqa batch photos/ --out audit --jobs 2", formatter_class=_FMT)
    p.add_argument("--version", action="version", version=f"smpqa {__version__}")
    p.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    a = sub.add_parser("analyze", help="audit one or more photos", formatter_class=_FMT,
                       epilog="examples:\n  smpqa analyze photo.png\n"
                              "  smpqa analyze photo.jpg --px-per-mm 22 --json r.json "
                              "--csv dots.csv --html r.html\n"
                              "  smpqa analyze *.jpg --px-per-mm 20 --fail-on fail")
    a.add_argument("photos", nargs="+", metavar="PHOTO")
    _common(a)
    a.add_argument("--json", help="write the analysis as JSON")
    a.add_argument("--csv", help="write the dot table as CSV")
    a.add_argument("--html", help="write a self-contained HTML report")
    a.set_defaults(func=_cmd_analyze)

    b = sub.add_parser("batch", help="audit a folder of photos", formatter_class=_FMT,
                       epilog="examples:\n  smpqa batch photos/ --out audit --jobs 2\n"
                              "  smpqa batch 'clinic/**/*.jpg' --out audit --px-per-mm 20\n"
                              "  smpqa batch photos/ --out audit --scheduler tcp://host:8786")
    b.add_argument("photos", metavar="DIR_OR_GLOB")
    b.add_argument("--out", required=True, help="output folder")
    _common(b)
    b.add_argument("--jobs", type=int, default=1, help="local worker processes (default 1)")
    b.add_argument("--scheduler", help="address of a Dask distributed scheduler")
    b.add_argument("--force", action="store_true", help="redo photos already done")
    b.add_argument("--no-html", action="store_true", help="skip the per-photo reports")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=_cmd_batch)

    d = sub.add_parser("demo", help="simulate a good and a botched job and audit both",
                       epilog="example:\n  smpqa demo --out smpqa-demo", formatter_class=_FMT)
    d.add_argument("--out", default="smpqa-demo", help="output folder (default ./smpqa-demo)")
    d.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    d.set_defaults(func=_cmd_demo)

    s = sub.add_parser("synth", help="simulate an SMP photo with ground truth",
                       formatter_class=_FMT,
                       epilog="examples:\n  smpqa synth --list\n"
                              "  smpqa synth good_light --seed 1 --out photo.png\n"
                              "  smpqa synth botched --seed 7 --size 3mp --out bad.png")
    s.add_argument("preset", nargs="?", help="preset name (see --list)")
    s.add_argument("--list", action="store_true", help="list the presets and exit")
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    s.add_argument("--out", help="output PNG path; truth goes beside it")
    s.add_argument("--size", choices=list(PHOTO_SIZES), default="small",
                   help="photo size: " + ", ".join(f"{k} = {w}x{h}"
                                                   for k, (w, h) in PHOTO_SIZES.items()))
    s.add_argument("--px-per-mm", type=float, help="override the preset's scale")
    s.set_defaults(func=_cmd_synth)

    pr = sub.add_parser("profile", help="show or write a threshold profile",
                        formatter_class=_FMT,
                        epilog="examples:\n  smpqa profile --show\n"
                               "  smpqa profile --write my.toml   # then edit and pass "
                               "--profile my.toml")
    g = pr.add_mutually_exclusive_group()
    g.add_argument("--show", action="store_true", help="print the profile (default)")
    g.add_argument("--write", metavar="PATH", help="write the profile as TOML")
    pr.add_argument("--profile", help="start from this profile instead of the default")
    pr.set_defaults(func=_cmd_profile)

    from .research._cli import register  # dataset make, evaluate

    register(sub)
    return p


def main(argv=None) -> int:
    """Run the command line; returns the exit code (0 done, 1 --fail-on met, 2 bad usage/input)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except (_UsageError, SmpqaError, OSError, ImportError) as exc:
        if args.debug:
            raise
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"smpqa {args.command}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
