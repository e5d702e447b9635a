"""The adding problem: a synthetic long-range-memory benchmark for recurrent cells."""
