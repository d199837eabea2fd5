"""The photo's frame and the margin along it in which no dot is reported.

A dot is reported only when its centre lies at least the *frame margin* (half
the largest expected dot diameter, recorded in ``DotTable.meta`` under
:data:`FRAME_MARGIN_KEY`) inside the photo's frame. Every reported disc then
lies wholly in the photo: a dot cut by the frame cannot be measured (its
integral and its skin annulus are truncated), and a dark frame edge or the
dark end of a gradient would otherwise be read as dots.

What the detector could see is therefore the *observed area*: the photo inset
by the margin on every side. Anything that counts dots per area (densities,
tiles, the interior's area, distances to the edge of the window) must use that
same area, or it under-counts by the dots dropped in the margin.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FRAME_MARGIN_KEY", "frame_distance"]

#: ``DotTable.meta`` key of the frame margin (px) within which the detector reports no dot.
FRAME_MARGIN_KEY = "frame_margin_px"


def frame_distance(x, y, image_shape):
    """Distance (px) from pixel positions to the nearest side of the photo's frame.

    Pixel centres lie at integers, so the photo spans -0.5 .. W - 0.5 in x.

    Parameters
    ----------
    x, y : array_like
        Positions, px (x = column).
    image_shape : (int, int)
        Photo (rows, columns).

    Returns
    -------
    numpy.ndarray
        The distance; negative outside the photo.

    Examples
    --------
    >>> frame_distance([0.0, 10.0, 99.0], [5.0, 5.0, 50.0], (100, 100)).tolist()
    [0.5, 5.5, 0.5]
    """
    h, w = image_shape[0], image_shape[1]
    x, y = np.asarray(x, float), np.asarray(y, float)
    return np.minimum(np.minimum(x + 0.5, w - 0.5 - x), np.minimum(y + 0.5, h - 0.5 - y))
