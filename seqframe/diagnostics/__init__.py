"""Diagnostics: gradient checks, gradient flow, backend parity, benchmarks."""
