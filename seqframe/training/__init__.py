"""Training: the loop, one optimizer step, clipping, optimizers, guard, checkpoints, seeding,
progress, data parallelism."""
