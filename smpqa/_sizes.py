"""The simulator's named photo sizes, importable without the simulator (for the CLI's options)."""

__all__ = ["PHOTO_SIZES"]

#: Named photo sizes (width, height) px shared by the CLI, data sets, examples and benchmarks.
PHOTO_SIZES = {"tiny": (400, 300), "small": (1200, 900), "3mp": (2000, 1500),
               "12mp": (4000, 3000)}
