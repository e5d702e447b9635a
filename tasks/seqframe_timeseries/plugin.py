"""Registers the ``timeseries`` task; the task module is imported only when selected."""

from seqframe import hookimpl


@hookimpl
def seqframe_register_tasks(register):
    register(
        "timeseries",
        "seqframe_timeseries.task:TimeSeriesTask",
        "time-series forecasting: CSV/Parquet/HF series, direct multi-step, MAE/MAPE/MASE",
    )
