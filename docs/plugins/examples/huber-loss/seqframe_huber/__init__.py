"""The Huber loss as a seqframe loss plugin: the loss-plugin tutorial's example."""
