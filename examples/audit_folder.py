"""A clinic's audit of a folder of SMP photos: which jobs are worst, and what goes wrong most.

Runs smpqa's batch audit (``smpqa.batch.run_batch``) over every photo in a folder, then reads
the ``summary.csv`` it writes with pandas and prints

- a league table of the photos, worst first (fails before warns before passes, then by how many
  criteria fail), and
- how often each criterion fails or warns across the folder.

The batch also writes ``OUT/index.html`` and one HTML report per photo under ``OUT/results/``.
Run it again on the same folder and it skips the photos already done.

No photos at hand? ``--simulate N`` first fills a folder that does not exist yet with N
simulated photos, good work and every failure mode in turn (each with its truth files).

Run::

    python examples/audit_folder.py PHOTOS_DIR --out audit --px-per-mm 20 --jobs 2
    python examples/audit_folder.py demo_photos --simulate 12 --out audit   # try it out
    python examples/audit_folder.py demo_photos --simulate 4 --size 400x300 --out audit --no-html

``--px-per-mm`` is the scale at the scalp (measure a ruler in the photo). Leave it out for
simulated photos: they carry their own scale, and one number for all of them would be wrong for
the presets photographed at another scale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from smpqa import synth
from smpqa.batch import BatchOptions, find_photos, run_batch
from smpqa.profile import CRITERIA
from smpqa.research.dataset import parse_size
from smpqa.synth import PHOTO_SIZES

SEVERITY = {"fail": 3, "warn": 2, "pass": 1, "not_applicable": 0}


def _size(text: str) -> tuple[int, int]:
    """--size: a name of smpqa.synth.PHOTO_SIZES or WIDTHxHEIGHT."""
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def simulation_mix() -> list[str]:
    """Preset names with good and flawed work alternating, so any first N give a mix."""
    good = [n for n, (_, fails, _) in synth.PRESETS.items() if not fails]
    bad = [n for n, (_, fails, _) in synth.PRESETS.items() if fails]
    mix = []
    for i in range(max(len(good), len(bad))):
        mix += [names[i] for names in (good, bad) if i < len(names)]
    return mix


def simulate_photos(folder: Path, n: int, size: tuple[int, int], seed: int) -> None:
    """Write n simulated photos (plus their .truth.csv/.truth.json) into a new folder."""
    mix = simulation_mix()
    w, h = size
    for i in range(n):
        name = mix[i % len(mix)]
        # A different seed per photo, so a preset that comes round again is a new "client".
        photo = synth.render(synth.preset(name, width_px=w, height_px=h, seed=seed + i))
        photo.write(folder / f"{i:03d}_{name}.png")
    print(f"simulated {n} photos ({w}x{h} px) into {folder}")


def league_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The audited photos, worst first, with the criteria that fail and warn."""
    ok = summary[summary["status"] == "ok"].copy()
    if ok.empty:
        return pd.DataFrame(columns=["photo", "grade", "fails", "warns", "n_dots"])
    verdicts = ok[list(CRITERIA)]
    ok["fails"] = verdicts.apply(lambda r: ", ".join(c for c in CRITERIA if r[c] == "fail"), axis=1)
    ok["warns"] = verdicts.apply(lambda r: ", ".join(c for c in CRITERIA if r[c] == "warn"), axis=1)
    ok["_severity"] = ok["grade"].map(SEVERITY)
    ok["_n_fail"] = (verdicts == "fail").sum(axis=1)
    ok["_n_warn"] = (verdicts == "warn").sum(axis=1)
    ok["photo"] = ok["photo"].map(lambda p: Path(p).name)
    ok = ok.sort_values(["_severity", "_n_fail", "_n_warn", "photo"],
                        ascending=[False, False, False, True])
    table = ok[["photo", "grade", "fails", "warns", "n_dots"]].reset_index(drop=True)
    table["n_dots"] = table["n_dots"].astype(int)
    table.index += 1  # a league table starts at 1
    return table


def criterion_counts(summary: pd.DataFrame) -> pd.DataFrame:
    """How many photos fail, warn, pass or cannot be judged on each criterion."""
    ok = summary[summary["status"] == "ok"]
    counts = pd.DataFrame({c: ok[c].value_counts() for c in CRITERIA}).T
    counts = counts.reindex(columns=list(SEVERITY), fill_value=0).fillna(0).astype(int)
    counts["fail_share"] = (counts["fail"] / max(len(ok), 1)).round(2)
    counts.index.name = "criterion"
    return counts.sort_values(["fail", "warn"], ascending=False)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("photos", type=Path, help="folder of photos (searched recursively)")
    ap.add_argument("--out", type=Path, default=Path("audit"),
                    help="output folder for summary.csv, index.html and reports (default: audit)")
    ap.add_argument("--px-per-mm", type=float, default=None,
                    help="scale at the scalp for every photo (default: each photo's metadata)")
    ap.add_argument("--jobs", type=int, default=1, help="local worker processes (default 1)")
    ap.add_argument("--no-html", action="store_true", help="skip the per-photo HTML reports")
    ap.add_argument("--top", type=int, default=20,
                    help="show at most this many photos in the league table (default 20)")
    sim = ap.add_argument_group("simulation (only when PHOTOS does not exist yet)")
    sim.add_argument("--simulate", type=int, metavar="N",
                     help="first simulate N photos of mixed presets into PHOTOS")
    sim.add_argument("--size", type=_size, default="small",
                     help=f"simulated photo size: {', '.join(PHOTO_SIZES)} or WxH (default small)")
    sim.add_argument("--seed", type=int, default=0, help="seed of the first simulated photo")
    args = ap.parse_args(argv)
    if not args.photos.exists() and not args.simulate:
        ap.error(f"{args.photos} does not exist; give a folder of photos, or add --simulate N "
                 f"to make one with N simulated photos")
    if args.simulate is not None and args.simulate < 1:
        ap.error("--simulate needs at least 1 photo")
    if args.jobs < 1:
        ap.error("--jobs must be >= 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.photos.exists():
        simulate_photos(args.photos, args.simulate, args.size, args.seed)
    elif args.simulate:
        # Never mix simulated photos into a real folder.
        print(f"{args.photos} exists: auditing it as it is, nothing simulated")

    photos = find_photos(args.photos)
    options = BatchOptions(px_per_mm=args.px_per_mm, html=not args.no_html)
    res = run_batch(photos, args.out, options, jobs=args.jobs)

    summary = pd.read_csv(res["summary"])
    table = league_table(summary)
    print(f"\n{res['n_ok']} photos audited, {res['n_error']} could not be read "
          f"({res['n_skipped']} already done in an earlier run)\n")
    print("League table, worst first:")
    print(table.head(args.top).to_string() if len(table) else "  (no photo could be audited)")
    if len(table) > args.top:
        print(f"  ... and {len(table) - args.top} more in {res['summary']}")

    print("\nCriteria that fail most often:")
    print(criterion_counts(summary).to_string())

    errors = summary[summary["status"] == "error"]
    if len(errors):
        print("\nNot audited:")
        for _, row in errors.iterrows():
            print(f"  {Path(row['photo']).name}: {row['error']}")

    print(f"\nsummary: {res['summary']}\nindex:   {res['index']}")
    return 0


if __name__ == "__main__":  # the guard matters: --jobs > 1 starts workers that import this file
    sys.exit(main())
