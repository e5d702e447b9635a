"""The engine: the model, BPTT over one window, losses, windows, eval predictions."""
