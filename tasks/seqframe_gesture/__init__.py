"""Gesture, speech and sensor-sequence classification on UCR/UEA ``.ts`` data."""
