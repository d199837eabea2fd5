"""Research tools: benchmark data sets, scoring of detectors and verdicts, annotations.

- :func:`make_dataset` simulates a data set of photos with truth and a
  ``manifest.csv``; :func:`sample_dataset` is a small one shipped with smpqa.
- :func:`evaluate` scores detections (CSV files, or smpqa itself) and verdicts
  against a data set or against point annotations of real photos.
- :func:`load_annotations` reads CSV, COCO keypoints and VIA annotations.

See docs/research.md.
"""

from __future__ import annotations

from .annotations import AnnotationError, PointSet, load_annotations
from .dataset import DatasetError, make_dataset, read_manifest, sample_dataset
from .evaluate import Evaluation, EvaluationError, evaluate

__all__ = [
    "make_dataset", "sample_dataset", "read_manifest", "evaluate", "Evaluation",
    "load_annotations", "PointSet", "AnnotationError", "DatasetError", "EvaluationError",
]
