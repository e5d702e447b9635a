"""What ``seqframe plugins | backends | tasks | losses`` show, as plain data."""

from __future__ import annotations

from typing import Any

from ..errors import SeqframeError
from ..losses.base import check_loss_class
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
        "options": _options(task_cls.options),
    }


def _sentence(text: str) -> str:
    return text if not text or text.endswith((".", "!", "?", ")")) else text + "."


def _options(options) -> list[dict[str, Any]]:
    """``TaskOption``s as plain data (a task's ``-o`` options, a loss's ``loss_options``)."""
    return [
        {
            "name": opt.name,
            "type": opt.type.__name__,
            "default": opt.default,
            "help": _sentence(opt.help) + (f" One of: {', '.join(map(str, opt.choices))}."
                                           if opt.choices else ""),
        }
        for opt in options
    ]


def output_width(loss: Any) -> str:
    """The readout's width for a task's O, as a formula: ``O``, ``2*O``, or what O=1..3 give."""
    widths = [loss.output_size(size) for size in (1, 2, 3)]
    if all(w == widths[0] * size for w, size in zip(widths, (1, 2, 3), strict=True)):
        return "O" if widths[0] == 1 else f"{widths[0]}*O"
    return ", ".join(f"O={size}: {w}" for size, w in zip((1, 2, 3), widths, strict=True))


def loss_row(registry: Registry, name: str) -> dict[str, Any]:
    """One registered loss: what it takes as targets, needs from the readout, its options.

    A loss whose class cannot be loaded (its plugin's lazy target is broken, an optional
    dependency is missing) is listed with ``error`` saying why, instead of failing the listing.
    """
    reg = registry.entries["loss"][name]
    row: dict[str, Any] = {
        "name": name, "description": reg.description, "plugin": reg.plugin.name,
        "distribution": f"{reg.plugin.distribution} {reg.plugin.version}", "error": None,
    }
    try:
        cls = registry.load("loss", name)
        check_loss_class(cls)
        loss = cls()  # its default options
    except SeqframeError as exc:
        row["error"] = str(exc)
        return row
    row.update({
        "description": reg.description or cls.description,
        "targets": cls.targets,
        "needs": cls.needs,
        "per_sequence": bool(cls.per_sequence),
        "outputs": output_width(loss),
        "metric": cls.metric,
        "mode": cls.mode,
        "options": _options(cls.options),
    })
    return row


def loss_rows(registry: Registry) -> list[dict[str, Any]]:
    """Every registered loss, as :func:`loss_row` describes it, by name."""
    return [loss_row(registry, name) for name in registry.names("loss")]


def loss_details(registry: Registry, name: str) -> dict[str, Any]:
    """One loss by name; an unknown name is UnknownNameError, a broken one its load error."""
    check_loss_class(registry.load("loss", name))  # UnknownNameError (exit 2), PluginError (3)
    return loss_row(registry, name)


def registered_summary(registered: dict[str, list[str]]) -> str:
    """``backend: numpy; cell: gru, lstm`` for the plugins table."""
    parts = [f"{kind}: {', '.join(sorted(names))}"
             for kind in (*KINDS, "command") for names in [registered.get(kind)] if names]
    return "; ".join(parts) or "-"
