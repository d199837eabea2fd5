"""Kernels import and cache where numba can write nowhere of its own (read-only installs)."""

import os
import stat
import textwrap

import pytest

# In a fresh interpreter, numba is left only the locator that NUMBA_CACHE_DIR feeds: as if
# neither the package's folder nor the user's cache folder could be written.
_READ_ONLY = """
import numba.core.caching as c
impl = getattr(c, "CacheImpl", None) or getattr(c, "_CacheImpl")
impl._locator_classes = [k for k in impl._locator_classes
                         if k.__name__.lstrip("_") == "UserProvidedCacheLocator"]
import tempfile
tempfile.tempdir = {tmp!r}
"""


@pytest.fixture
def read_only_python(fresh_python, tmp_path):
    import numba.core.caching as c

    if not (hasattr(c, "CacheImpl") or hasattr(c, "_CacheImpl")):
        pytest.skip("numba's cache locators moved: cannot simulate a read-only install")
    env_free = "import os; os.environ.pop('NUMBA_CACHE_DIR', None)\n"

    def run(code):
        return fresh_python(env_free + _READ_ONLY.format(tmp=str(tmp_path))
                            + textwrap.dedent(code))
    return run


def test_without_a_writable_folder_numba_fails_at_import(read_only_python):
    # The failure the package guards against, reproduced: a plain cached kernel.
    out = read_only_python("""
        from numba import njit
        try:
            njit(cache=True)(lambda: 0)
            print("imported")
        except RuntimeError as e:
            print("failed" if "no locator" in str(e) else e)
    """)
    assert out == ["failed"]


def test_kernels_import_and_cache_in_a_private_temporary_folder(read_only_python, tmp_path):
    out = read_only_python("""
        import numpy as np
        import smpqa.detect, smpqa.metrics.size, smpqa.synth  # every package with kernels
        from numba.core import config
        from smpqa.metrics._grid_kernels import nearest_other
        d = nearest_other(np.array([0.0, 3.0, 10.0]), np.array([0.0, 4.0, 0.0]))
        print(config.CACHE_DIR, *d)
    """)
    folder = out[0]
    assert os.path.dirname(folder) == str(tmp_path)
    assert [float(v) for v in out[1:]] == [5.0, 5.0, pytest.approx(65**0.5)]
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert any(f.endswith(".nbi") for _, _, files in os.walk(folder) for f in files)


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX owners and modes")
def test_a_folder_others_can_open_is_not_used(read_only_python, tmp_path):
    shared = tmp_path / f"smpqa-numba-{os.getuid()}"
    shared.mkdir()
    shared.chmod(0o777)  # planted cache files would be unpickled: code run as this user
    out = read_only_python("""
        import smpqa._numba_cache as m
        print(m.ensure_cache_dir())
    """)
    assert out[0] != str(shared) and os.path.dirname(out[0]) == str(tmp_path)
    assert stat.S_IMODE(os.stat(out[0]).st_mode) == 0o700
