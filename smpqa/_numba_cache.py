"""Somewhere numba can write the kernels' cache: imported, for that, before any kernel.

numba keeps the compiled code of ``@njit(cache=True)`` functions beside the package,
else in the user's cache folder. Where it can write to neither (a read-only install run
by a user without a home, as in some containers), the decoration fails at import with
"cannot cache function ...: no locator available". Importing this module first points
numba, in that case only, at a private folder under the system's temporary directory
(:func:`ensure_cache_dir`). Every package that holds kernels imports it ahead of them.
"""

from __future__ import annotations

import functools
import os
import stat
import tempfile

from numba import njit
from numba.core import config

__all__ = ["ensure_cache_dir"]

def _probe():  # never called: its decoration tells whether numba can cache beside this file
    return 0


@functools.cache  # once per process: numba's choice does not change
def ensure_cache_dir() -> str | None:
    """Give numba a writable cache folder when it would find none; that folder, or None.

    None when ``NUMBA_CACHE_DIR`` is set or numba's own choice works (this package's
    folder or the user's cache folder is writable). Otherwise a folder of this user's
    under :func:`tempfile.gettempdir`, open to no one else: cache files are pickles, and
    another user's would run as code. If that folder exists with another owner or looser
    modes, a fresh one from :func:`tempfile.mkdtemp` is used instead.
    """
    if config.CACHE_DIR:
        return None
    try:
        njit(cache=True)(_probe)
        return None
    except RuntimeError:  # no locator available
        config.CACHE_DIR = _private_dir()
        return config.CACHE_DIR


def _private_dir() -> str:
    """``<tmp>/smpqa-numba-<uid>``, made 0700, if it is this user's alone; else a new folder."""
    uid = os.getuid() if hasattr(os, "getuid") else None  # (per-user temp folders elsewhere)
    path = os.path.join(tempfile.gettempdir(), f"smpqa-numba-{'' if uid is None else uid}")
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        st = os.lstat(path)
        if (stat.S_ISDIR(st.st_mode) and (uid is None or st.st_uid == uid)
                and not st.st_mode & (stat.S_IRWXG | stat.S_IRWXO)):
            return path
    except OSError:
        pass
    return tempfile.mkdtemp(prefix="smpqa-numba-")


ensure_cache_dir()
