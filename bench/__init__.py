"""Benchmarks: each scenario beside a floor measured in the same run (see README)."""
