"""Dot detection: find and measure every pigment dot in a photo."""

from .params import DetectParams
from .pipeline import detect_dots
from .table import COLUMNS, DotTable

__all__ = ["detect_dots", "DetectParams", "DotTable", "COLUMNS"]
