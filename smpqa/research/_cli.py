"""The ``smpqa dataset`` and ``smpqa evaluate`` subcommands; :func:`register` adds them.

Each command function takes the parsed arguments and returns the exit code;
bad input raises a :class:`~smpqa.errors.SmpqaError` (or OSError), which the
main command line turns into a one-line message and exit code 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .dataset import SIZES

__all__ = ["register", "cmd_dataset_make", "cmd_evaluate"]

_FMT = argparse.RawDescriptionHelpFormatter


def cmd_dataset_make(args) -> int:
    """``smpqa dataset make``: simulate a data set and print where its manifest is."""
    from .dataset import make_dataset, read_manifest

    manifest = make_dataset(args.outdir, presets=args.presets, per_preset=args.per_preset,
                            seed=args.seed, size=args.size, progress=not args.quiet)
    print(f"wrote {len(read_manifest(manifest))} photos with truth; manifest: {manifest}")
    return 0


def _dataset_without_action(parser):
    def run(args) -> int:
        parser.print_help()
        return 2

    return run


def cmd_evaluate(args) -> int:
    """``smpqa evaluate``: print the tables, and write csv/json/plots into --out."""
    from .evaluate import evaluate

    ev = evaluate(args.truth, args.pred, run=args.run, images_dir=args.images,
                  px_per_mm=args.px_per_mm, pixel_offset=args.pixel_offset,
                  profile=args.profile, view=args.view, n_boot=args.n_boot, seed=args.seed,
                  progress=not args.quiet)
    print(ev.table())
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        written = [ev.to_csv(out / "evaluation.csv"), ev.to_json(out / "evaluation.json"),
                   *ev.plot(out)]
        print("\n" + "\n".join(f"wrote {p}" for p in written))
    return 0


def _non_negative_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {v}")
    return v


def _add_dataset(subparsers) -> None:
    d = subparsers.add_parser(
        "dataset", help="make benchmark data sets of simulated photos", formatter_class=_FMT,
        epilog="examples:\n  smpqa dataset make bench --per-preset 3 --seed 1\n"
               "  smpqa dataset make mini --presets good_light,botched --per-preset 1")
    actions = d.add_subparsers(dest="dataset_action", metavar="ACTION")
    m = actions.add_parser(
        "make", help="simulate photos with truth and a manifest.csv", formatter_class=_FMT,
        description="Simulate N photos of each preset into OUTDIR, with their truth files and\n"
                    "manifest.csv (expected verdicts, scene seeds, SHA-256). The same seed\n"
                    "gives the same files, bit for bit.",
        epilog="examples:\n  smpqa dataset make bench --per-preset 3 --seed 1\n"
               "  smpqa dataset make mini --presets good_light,botched --per-preset 1\n"
               "  smpqa dataset make big --presets good_light --size 12mp\n"
               "  smpqa dataset make tiny --size 600x450 --per-preset 1")
    m.add_argument("outdir", metavar="OUTDIR", help="output folder (made if needed)")
    m.add_argument("--presets", help="comma-separated preset names (default: every preset; "
                   "see `smpqa synth --list`)")
    m.add_argument("--per-preset", type=int, default=2, metavar="N",
                   help="photos per preset (default 2)")
    m.add_argument("--seed", type=_non_negative_int, default=0, help="data set seed (default 0)")
    m.add_argument("--size", default="small", metavar="SIZE",
                   help=f"photo size: {', '.join(f'{k} = {w}x{h}' for k, (w, h) in SIZES.items())}"
                        f", or WxH (default small)")
    m.add_argument("--quiet", action="store_true", help="no progress bar")
    m.set_defaults(func=cmd_dataset_make)
    d.set_defaults(func=_dataset_without_action(d))


def _add_evaluate(subparsers) -> None:
    e = subparsers.add_parser(
        "evaluate", help="score detections and verdicts against truth", formatter_class=_FMT,
        description="Score dot detections (and verdicts) against a data set made by\n"
                    "`smpqa dataset make`, or against point annotations of real photos.\n"
                    "Predictions: a folder of <stem>.csv files (x, y[, diameter_px][, score])\n"
                    "with optional <stem>.json analyses, a `smpqa batch` output folder, or\n"
                    "--run smpqa.",
        epilog="examples:\n  smpqa evaluate --truth bench --run smpqa --out eval\n"
               "  smpqa evaluate --truth bench --pred mydetector/ --out eval\n"
               "  smpqa evaluate --truth bench --pred audit/     # verdicts of `smpqa batch`\n"
               "  smpqa evaluate --truth bench --run smpqa --profile strict.toml\n"
               "  smpqa evaluate --truth dots.json --images photos/ --run smpqa "
               "--px-per-mm 20")
    e.add_argument("--truth", required=True, metavar="DIR_OR_FILE",
                   help="data set folder (manifest.csv) or annotation file (CSV, COCO, VIA)")
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--pred", metavar="DIR", help="folder of predictions (see above)")
    src.add_argument("--run", choices=["smpqa"], help="analyse the photos with smpqa")
    e.add_argument("--images", metavar="DIR", help="photos of an annotation file")
    e.add_argument("--px-per-mm", type=float, help="scale of annotated photos (default: their "
                   "metadata; without one the 1 mm border is not excluded)")
    e.add_argument("--pixel-offset", type=float, metavar="PX",
                   help="shift of annotation coordinates (default: 0 for CSV, -0.5 for COCO "
                        "and VIA, see docs/research.md)")
    e.add_argument("--profile", help="thresholds for --run smpqa, TOML or JSON")
    e.add_argument("--view", choices=["front"], help="every photo a front view, for --run "
                   "smpqa (default: each simulated photo's own view, from its scene)")
    e.add_argument("--n-boot", type=_non_negative_int, default=1000,
                   help="bootstrap resamples for the 95%% intervals (default 1000)")
    e.add_argument("--seed", type=_non_negative_int, default=0,
                   help="bootstrap seed (default 0)")
    e.add_argument("--out", metavar="OUTDIR",
                   help="write evaluation.csv, evaluation.json and PNG figures here")
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=cmd_evaluate)


def register(subparsers) -> None:
    """Add the ``dataset`` and ``evaluate`` subcommands to smpqa's subparsers.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers()`` returned.
    """
    _add_dataset(subparsers)
    _add_evaluate(subparsers)
