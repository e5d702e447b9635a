"""The lazily imported target of ``good.py``."""


class GoodTask:
    name = "good-task"
