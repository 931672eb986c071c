"""Benchmarks: figures, never assertions. Run ``python -m bench.run --help``."""
