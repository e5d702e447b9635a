"""Forecast the next value of a noisy sine wave: the seqframe task-plugin tutorial's example."""
