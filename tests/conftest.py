import os
import subprocess
import sys

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def fresh_python():
    """Run Python source in a new interpreter; returns its printed words (fails on an error).

    For what one process must count from scratch, such as the argument types a numba
    kernel was compiled for.
    """
    def run(code: str) -> list[str]:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return r.stdout.split()

    return run
