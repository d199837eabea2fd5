"""Batch audits: every photo accounted for, bad files listed, resumable, same on Dask."""

import csv
import json
import re

import pytest

from smpqa import synth
from smpqa.batch import BatchOptions, find_photos, photo_key, process_photo, run_batch
from smpqa.cli import main

NO_HTML = BatchOptions(html=False)


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("photos")
    for i, name in enumerate(["good_light", "botched", "faded", "good_medium"]):
        photo = synth.render(synth.preset(name, width_px=400, height_px=300, seed=i))
        photo.write(d / f"{i}_{name}.png")
    (d / "9_not_an_image.png").write_text("hello")
    good = (d / "0_good_light.png").read_bytes()
    (d / "8_truncated.png").write_bytes(good[: len(good) // 3])
    return d


def _csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_every_photo_is_in_the_summary_and_bad_ones_do_not_stop_it(photo_dir, tmp_path):
    photos = find_photos(photo_dir)
    assert len(photos) == 6
    res = run_batch(photos, tmp_path / "out", NO_HTML, progress=False)
    rows = _csv(res["summary"])
    assert [r["photo"] for r in rows] == [str(p) for p in photos]
    assert res["n_ok"] == 4 and res["n_error"] == 2
    errors = {r["photo"].rsplit("/", 1)[-1]: r["error"] for r in rows if r["status"] == "error"}
    assert set(errors) == {"8_truncated.png", "9_not_an_image.png"}
    assert all("ImageError" in e for e in errors.values())
    botched = next(r for r in rows if "botched" in r["photo"])
    assert botched["grade"] == "fail" and botched["size"] == "fail"
    assert float(botched["size.median_diameter_mm"]) > 0.65
    good = next(r for r in rows if "good_light" in r["photo"])
    assert float(good["glare_fraction"]) == 0.0  # the glare-free preset: none taken out
    assert all(r["glare_fraction"] == "" for r in rows if r["status"] == "error")
    assert (tmp_path / "out" / "index.html").exists()


def test_index_shows_each_photos_dots_and_glare(tmp_path):
    d = tmp_path / "photos"
    d.mkdir()
    for name in ("good_glare", "good_light"):
        synth.render(synth.preset(name, width_px=600, height_px=450, seed=1)).write(
            d / f"{name}.png")
    (d / "zz_broken.png").write_text("not a photo")
    res = run_batch(find_photos(d), tmp_path / "out", NO_HTML, progress=False)
    rows = {r["photo"].rsplit("/", 1)[-1]: r for r in _csv(res["summary"])}
    page = res["index"].read_text(encoding="utf-8")
    glare = float(rows["good_glare.png"]["glare_fraction"])
    assert glare > 0.01  # four glare spots on a small photo cover a few per cent
    cells = re.findall(r"<td class='glare'>([^<]*)</td>", page)
    dots = re.findall(r"<td class='n-dots'>([^<]*)</td>", page)
    assert cells == [f"{100 * glare:.1f} %", "none"]  # the broken file's row has neither
    assert dots == [rows["good_glare.png"]["n_dots"], rows["good_light.png"]["n_dots"]]
    assert "zz_broken.png" in page and "ImageError" in page


def test_rerun_skips_finished_photos_and_force_redoes_them(photo_dir, tmp_path):
    photos = find_photos(photo_dir)
    out = tmp_path / "out"
    # A batch killed after two photos: their results are on disk, nothing else is.
    (out / "results").mkdir(parents=True)
    for p in photos[:2]:
        process_photo(p, out, NO_HTML)
    first = run_batch(photos, out, NO_HTML, progress=False)
    assert first["n_skipped"] == 2 and first["n_ok"] == 4
    again = run_batch(photos, out, NO_HTML, progress=False)
    assert again["n_skipped"] == 4  # errors are retried, finished photos are not
    assert _csv(again["summary"]) == _csv(first["summary"])
    forced = run_batch(photos, out, BatchOptions(html=False, force=True), progress=False)
    assert forced["n_skipped"] == 0
    assert not list(out.rglob("*.tmp"))


def test_local_processes_give_the_same_summary(photo_dir, tmp_path):
    photos = find_photos(photo_dir)
    one = run_batch(photos, tmp_path / "a", NO_HTML, progress=False)
    two = run_batch(photos, tmp_path / "b", NO_HTML, jobs=2, progress=False)
    assert _csv(one["summary"]) == _csv(two["summary"])


@pytest.mark.timeout(180)
def test_dask_cluster_gives_the_same_summary(photo_dir, tmp_path):
    distributed = pytest.importorskip("distributed")
    photos = find_photos(photo_dir)
    local = run_batch(photos, tmp_path / "local", NO_HTML, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  host="127.0.0.1", protocol="tcp",
                                  dashboard_address=None) as cluster:
        remote = run_batch(photos, tmp_path / "dask", NO_HTML, scheduler=cluster.scheduler_address,
                           progress=False)
    assert _csv(remote["summary"]) == _csv(local["summary"])


@pytest.mark.parametrize("kw,err,msg", [
    (dict(photos="photos/"), TypeError, "list of paths, not one path"),
    (dict(jobs=0), ValueError, "jobs must be an integer >= 1"),
    (dict(jobs=1.5), ValueError, "jobs must be an integer >= 1"),
    (dict(options={"px_per_mm": 20}), TypeError, "BatchOptions, not dict"),
])
def test_bad_batch_arguments_fail_before_any_work(tmp_path, kw, err, msg):
    # A string was read one character at a time: a batch of 'p', 'h', 'o', ... all missing.
    args = dict(photos=[tmp_path / "x.png"], outdir=tmp_path / "out", progress=False) | kw
    with pytest.raises(err, match=msg):
        run_batch(**args)
    assert not (tmp_path / "out").exists()


def test_result_names_stay_inside_the_output_folder(tmp_path):
    key = photo_key(tmp_path / "../../etc/<script>passwd.png")
    assert "/" not in key and ".." not in key and "<" not in key
    assert photo_key(tmp_path / "a" / "x.png") != photo_key(tmp_path / "b" / "x.png")


def test_result_json_is_strict_and_complete(photo_dir, tmp_path):
    p = find_photos(photo_dir)[0]
    (tmp_path / "results").mkdir()
    res = process_photo(p, tmp_path, NO_HTML)
    data = json.loads((tmp_path / "results" / f"{res['key']}.json").read_text())
    assert data["schema_version"] and set(data["verdicts"]) == {
        "size", "darkness", "colour", "uniformity", "hairline", "blowout"}


def test_cli_batch_exit_codes(photo_dir, tmp_path, capsys):
    assert main(["batch", str(photo_dir), "--out", str(tmp_path / "o"), "--no-html",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "2 could not be analysed" in out
    assert main(["batch", str(photo_dir), "--out", str(tmp_path / "o"), "--no-html", "--quiet",
                 "--fail-on", "fail"]) == 1
    assert main(["batch", str(tmp_path / "nothing-here"), "--out", str(tmp_path / "p")]) == 2


def test_cli_analyze_exit_codes_and_outputs(photo_dir, tmp_path, capsys):
    good = str(photo_dir / "3_good_medium.png")
    bad = str(photo_dir / "1_botched.png")
    assert main(["analyze", good, "--json", str(tmp_path / "r.json"),
                 "--csv", str(tmp_path / "d.csv")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["grade"]["status"] in ("pass", "warn")
    assert (tmp_path / "d.csv").read_text().startswith("x,y,diameter_px")
    assert main(["analyze", bad, "--fail-on", "fail"]) == 1
    capsys.readouterr()
    assert main(["analyze", str(photo_dir / "9_not_an_image.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "9_not_an_image.png" in err[0]
    assert main(["analyze", good, bad, "--json", "x.json"]) == 2
