"""Whether numba's compiled code for the detector is on disk yet.

The first analysis on a new machine (or after an upgrade) compiles the detector's kernels,
which takes minutes; later runs load them from numba's on-disk cache in about a second.
The command line says so before that first, silent wait.
"""

from __future__ import annotations

import sys

FIRST_RUN_NOTICE = (
    "smpqa: first run on this machine: compiling the dot detector (about 2 minutes on 2 "
    "cores, once; later runs start in about a second)"
)


def compiled_on_disk() -> bool | None:
    """Whether the detector's main kernel is in numba's cache, up to date with its source.

    Returns
    -------
    bool or None
        True when a first detection will load compiled code, False when it will compile;
        None when this cannot be told (numba's cache layout is not public API, and may
        change).

    Examples
    --------
    >>> compiled_on_disk() in (True, False, None)
    True
    """
    try:
        from .detect import _kernels

        # An index whose source stamp no longer matches loads as empty.
        return bool(_kernels.measure._cache._cache_file._load_index())
    except Exception:  # any change in numba's internals: cannot tell
        return None


def first_run_notice(stream=None) -> bool:
    """Print ``FIRST_RUN_NOTICE`` to ``stream`` (stderr) if the detector will compile.

    Returns whether it was printed.
    """
    if compiled_on_disk() is not False:
        return False
    print(FIRST_RUN_NOTICE, file=stream or sys.stderr, flush=True)
    return True
