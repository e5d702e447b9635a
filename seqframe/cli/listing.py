"""What ``seqframe plugins | backends | tasks`` show, as plain data plus a text-table renderer."""

from __future__ import annotations

from typing import Any

from ..plugins import KINDS, Registry


def plugin_rows(registry: Registry) -> list[dict[str, Any]]:
    """One dict per plugin: name, distribution, version, status, error, what it registered."""
    return [registry.plugins[name].as_dict() for name in sorted(registry.plugins)]


def kind_rows(registry: Registry, kind: str) -> list[dict[str, str]]:
    """Every registered backend / cell / task with its description and providing plugin."""
    rows = []
    for name in registry.names(kind):
        reg = registry.entries[kind][name]
        rows.append({
            "name": name,
            "description": reg.description,
            "plugin": reg.plugin.name,
            "distribution": f"{reg.plugin.distribution} {reg.plugin.version}",
        })
    return rows


def task_details(registry: Registry, name: str) -> dict[str, Any]:
    """A task's description, options (type, default, help, choices) and run defaults."""
    task_cls = registry.load("task", name)
    return {
        "name": name,
        "description": registry.entries["task"][name].description or task_cls.description,
        "metric": f"{task_cls.metric} ({'lower' if task_cls.metric_mode == 'min' else 'higher'}"
                  " is better)",
        "run_defaults": dict(task_cls.run_defaults),
        "options": [
            {
                "name": opt.name,
                "type": opt.type.__name__,
                "default": opt.default,
                "help": opt.help + (f" One of: {', '.join(map(str, opt.choices))}."
                                    if opt.choices else ""),
            }
            for opt in task_cls.options
        ],
    }


def registered_summary(registered: dict[str, list[str]]) -> str:
    """``backend: numpy; cell: gru, lstm`` for the plugins table."""
    parts = [f"{kind}: {', '.join(sorted(names))}"
             for kind in (*KINDS, "command") for names in [registered.get(kind)] if names]
    return "; ".join(parts) or "-"
