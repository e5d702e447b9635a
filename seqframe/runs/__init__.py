"""Runs: build what a config names, train or resume, reopen a finished run, ensembles, curves."""
