"""Data sources -> one DataBundle. `load_data(spec)` is the single entry point."""

from edgekd.data.bundle import DataBundle
from edgekd.data.sources import load_data

__all__ = ["DataBundle", "load_data"]
