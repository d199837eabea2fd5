"""Metrics in physical units, one module per criterion."""
