"""Self-contained HTML reports of an :class:`~smpqa.analysis.Analysis`.

The report computes nothing of its own: it shows the analysis (verdicts,
metrics, thresholds, detected dots and regions) next to the photo's pixels.
"""

from __future__ import annotations

from .html import render_comparison_html, render_html, write_html

__all__ = ["render_html", "render_comparison_html", "write_html"]
