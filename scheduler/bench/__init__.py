"""Benchmark: replay a trace through every policy and measure the core's pass time."""
