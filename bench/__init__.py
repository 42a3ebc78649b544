"""Benchmarks of Beauty Academy's runtime, each measured against a baseline in the same run.

`make bench` (or `uv run python -m bench`) runs them; see bench/README.md.
"""
