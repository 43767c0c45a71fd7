"""Benchmark suite: every figure is measured beside a raw baseline in the same run
and reported as a ratio, because the machine is shared and noisy."""
