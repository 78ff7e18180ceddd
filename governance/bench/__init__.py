"""Benchmarks of the pipeline stages."""
