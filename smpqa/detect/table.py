"""DotTable: the column-oriented table of detected dots."""

from __future__ import annotations

import csv
from collections.abc import Mapping

import numpy as np

__all__ = ["DotTable", "COLUMNS"]

#: Column names and dtypes, in order (fixed by docs/contracts.md).
COLUMNS: dict[str, type] = {
    "x": np.float64, "y": np.float64, "diameter_px": np.float64, "diameter_mm": np.float64,
    "area_px": np.float64, "delta_L": np.float64, "depth": np.float64,
    "core_L": np.float64, "core_a": np.float64, "core_b": np.float64,
    "skin_L": np.float64, "skin_a": np.float64, "skin_b": np.float64,
    "elongation": np.float64, "halo_ratio": np.float64, "merged": np.bool_, "snr": np.float64,
}


class DotTable(Mapping):
    """One row per pigment dot, stored column by column.

    Columns (see docs/contracts.md): ``x``, ``y`` (px, pixel centres at
    integers, x = column), ``diameter_px`` (pigment disc), ``diameter_mm``
    (NaN when the scale is unknown), ``area_px``, ``delta_L`` (L*skin -
    L*core), ``depth`` (delta_L / L*skin), ``core_L/a/b``, ``skin_L/a/b``,
    ``elongation`` (>= 1), ``halo_ratio``, ``merged`` (bool), ``snr``.

    A table behaves as a read-only mapping from column name to a numpy array;
    ``len(table)`` is the number of dots, and a table with no dots has every
    column, each of length 0.

    Parameters
    ----------
    columns : mapping of str to array_like
        Every column of :data:`COLUMNS`, all of one length.
    px_per_mm : float or None
        The scale the table was measured at.
    meta : dict, optional
        Provenance: parameters, estimated blur, noise level.
    """

    def __init__(self, columns, *, px_per_mm=None, meta=None):
        missing = set(COLUMNS) - set(columns)
        if missing:
            raise ValueError(f"DotTable is missing columns: {sorted(missing)}")
        data = {k: np.asarray(columns[k], dtype=t).reshape(-1) for k, t in COLUMNS.items()}
        lengths = {v.size for v in data.values()}
        if len(lengths) > 1:
            raise ValueError("DotTable columns must all have one length")
        for v in data.values():
            v.flags.writeable = False
        self._data = data
        self.px_per_mm = px_per_mm
        self.meta = dict(meta or {})

    @classmethod
    def empty(cls, *, px_per_mm=None, meta=None) -> DotTable:
        """A table with every column and no rows."""
        return cls({k: np.empty(0, t) for k, t in COLUMNS.items()}, px_per_mm=px_per_mm,
                   meta=meta)

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return int(self._data["x"].size)

    def __repr__(self):
        scale = f", px_per_mm={self.px_per_mm:g}" if self.px_per_mm else ""
        return f"<DotTable: {len(self)} dots{scale}>"

    def select(self, mask) -> DotTable:
        """A new table with the rows where ``mask`` is true (or at the given indices)."""
        return DotTable({k: v[mask] for k, v in self._data.items()}, px_per_mm=self.px_per_mm,
                        meta=self.meta)

    def to_records(self) -> np.ndarray:
        """The table as a numpy structured array, one record per dot."""
        out = np.empty(len(self), dtype=[(k, t) for k, t in COLUMNS.items()])
        for k in COLUMNS:
            out[k] = self._data[k]
        return out

    def to_pandas(self):
        """The table as a :class:`pandas.DataFrame` (needs pandas)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("DotTable.to_pandas needs pandas: pip install pandas") from exc
        return pd.DataFrame({k: np.array(v) for k, v in self._data.items()})

    def to_csv(self, path) -> None:
        """Write the table as CSV with a header row (floats to 4 decimals)."""
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(list(COLUMNS))
            cols = [self._data[k] for k in COLUMNS]
            for row in zip(*cols):
                w.writerow([str(bool(v)).lower() if isinstance(v, np.bool_) else f"{v:.4f}"
                            for v in row])
