"""seqframe task plugin: time-series forecasting with direct multi-step recurrent models."""
