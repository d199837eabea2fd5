"""The command line: exit codes, files written, messages."""

import json
import subprocess
import sys

import numpy as np

from smpqa.cli import main
from smpqa.io import load_image, read_px_per_mm


def test_synth_list_names_every_preset(capsys):
    from smpqa.synth import preset_names

    assert main(["synth", "--list"]) == 0
    out = capsys.readouterr().out
    for name in preset_names():
        assert name in out


def test_synth_writes_photo_truth_and_scale(tmp_path):
    out = tmp_path / "p.png"
    assert main(["synth", "faded", "--seed", "3", "--out", str(out), "--px-per-mm", "15"]) == 0
    img = load_image(out)
    assert img.shape == (900, 1200, 3)
    assert read_px_per_mm(out) == 15.0
    truth = json.loads((tmp_path / "p.truth.json").read_text())
    assert truth["scene"]["seed"] == 3 and truth["scene"]["opacity"] == 0.3
    assert (tmp_path / "p.truth.csv").read_text().startswith("x,y,diameter_px,kind,opacity")


def test_synth_is_reproducible(tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    main(["synth", "patchy", "--seed", "5", "--out", str(a)])
    main(["synth", "patchy", "--seed", "5", "--out", str(b)])
    assert np.array_equal(load_image(a), load_image(b))


def test_bad_usage_exits_2_with_one_line(tmp_path, capsys):
    assert main(["synth", "nope", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown preset 'nope'" in err[0]
    assert main(["synth", "nope"]) == 2  # the unknown name is the first thing said
    assert "unknown preset 'nope'" in capsys.readouterr().err
    assert main(["synth", "good_light"]) == 2
    assert main(["synth", "good_light", "--out", str(tmp_path / "x.jpg")]) == 2


def test_demo_writes_into_the_folder(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "d")]) == 0
    assert (tmp_path / "d" / "good_light.png").exists()
    assert (tmp_path / "d" / "botched.truth.json").exists()
    assert str(tmp_path / "d") in capsys.readouterr().out


def test_console_entry_point_runs():
    r = subprocess.run([sys.executable, "-m", "smpqa", "--version"], capture_output=True,
                       text=True, check=True)
    assert r.stdout.startswith("smpqa ")


def test_first_run_notice_follows_numba_cache(tmp_path):
    """With an empty numba cache the detector will compile, and the notice says so."""
    import os

    code = ("import sys; from smpqa._jit import compiled_on_disk, first_run_notice; "
            "print(compiled_on_disk()); sys.exit(0 if first_run_notice() else 1)")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "empty-cache")}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"
    assert "compiling the dot detector" in r.stderr


def test_no_notice_once_the_detector_is_compiled(tmp_path):
    import io

    from smpqa import detect_dots, synth
    from smpqa._jit import compiled_on_disk, first_run_notice

    photo = synth.render(synth.preset("good_light", width_px=200, height_px=150))
    detect_dots(photo.image, px_per_mm=photo.scene.px_per_mm)  # compiles and caches, or loads
    assert compiled_on_disk() is True
    out = io.StringIO()
    assert not first_run_notice(out) and out.getvalue() == ""


def test_commands_print_the_notice_before_a_cold_first_run(tmp_path, capsys, monkeypatch):
    from smpqa import _jit

    photo = tmp_path / "p.png"
    assert main(["synth", "good_light", "--out", str(photo), "--size", "tiny"]) == 0
    capsys.readouterr()
    for cold in (False, True):
        monkeypatch.setattr(_jit, "compiled_on_disk", lambda cold=cold: not cold)
        assert main(["analyze", str(photo)]) in (0, 1)
        err = capsys.readouterr().err
        assert (_jit.FIRST_RUN_NOTICE in err) is cold


def test_the_parser_alone_loads_no_numerical_engine(fresh_python):
    """`smpqa --help`, `--version` and a usage error build every option but load neither numba,
    SciPy's spatial trees nor the simulator's renderer: they answer in a fraction of a second."""
    out = fresh_python("""
import sys
from smpqa.cli import main
try:
    main(["--version"])
except SystemExit:
    pass
heavy = ("numba", "scipy.spatial", "smpqa.synth.render", "smpqa.detect")
print(*sorted(m for m in heavy if m in sys.modules) or ["none"])
""")
    assert out[-1] == "none", out


def test_analyze_prints_every_reason_of_a_verdict(tmp_path, capsys):
    # 0.3 mm dots at 10 px/mm span 3 px: size, darkness and colour carry a second reason.
    photo = tmp_path / "low.png"
    assert main(["synth", "good_light", "--px-per-mm", "10", "--size", "tiny", "--seed", "2",
                 "--out", str(photo)]) == 0
    capsys.readouterr()
    assert main(["analyze", str(photo)]) in (0, 1)
    lines = capsys.readouterr().out.splitlines()
    size = next(i for i, ln in enumerate(lines) if ln.split()[:1] == ["size"])
    assert "span only" not in lines[size]  # the judgement first, on the criterion's line
    more = lines[size + 1]
    assert more.startswith(" " * 29) and "span only" in more and "px/mm or more" in more

