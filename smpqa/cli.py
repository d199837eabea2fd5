"""The ``smpqa`` command line: a thin front end over the public API."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .errors import SmpqaError

__all__ = ["main"]

_EPILOG_SYNTH = """examples:
  smpqa synth --list
  smpqa synth good_light --seed 1 --out photo.png
  smpqa synth botched --seed 7 --size 3mp --out bad.png
"""
_SIZES = {"small": (1200, 900), "3mp": (2000, 1500), "12mp": (4000, 3000)}


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
    if args.out is None:
        raise _UsageError("give --out PHOTO.png")
    w, h = _SIZES[args.size]
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


def _cmd_demo(args) -> int:
    from . import synth

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("good_light", "botched"):
        scene = synth.preset(name, seed=args.seed)
        paths = synth.render(scene).write(out / f"{name}.png")
        print(f"simulated {name}: {paths['image']}")
    print(f"demo photos and their truth are in {out.resolve()}")
    return 0


class _UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="smpqa", description="Judge scalp micropigmentation work from photographs.")
    p.add_argument("--version", action="version", version=f"smpqa {__version__}")
    p.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("synth", help="simulate an SMP photo with ground truth",
                       epilog=_EPILOG_SYNTH, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("preset", nargs="?", help="preset name (see --list)")
    s.add_argument("--list", action="store_true", help="list the presets and exit")
    s.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    s.add_argument("--out", help="output PNG path; truth goes beside it")
    s.add_argument("--size", choices=list(_SIZES), default="small",
                   help="photo size: small = 1200x900, 3mp, 12mp (default small)")
    s.add_argument("--px-per-mm", type=float, help="override the preset's scale")
    s.set_defaults(func=_cmd_synth)

    d = sub.add_parser("demo", help="simulate a good and a botched photo and audit them",
                       epilog="example:\n  smpqa demo --out smpqa-demo",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("--out", default="smpqa-demo", help="output folder (default ./smpqa-demo)")
    d.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    d.set_defaults(func=_cmd_demo)
    return p


def main(argv=None) -> int:
    """Run the command line; returns the exit code (0 done, 1 --fail-on met, 2 bad usage/input)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except (_UsageError, SmpqaError, OSError) as exc:
        if args.debug:
            raise
        print(f"smpqa {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
