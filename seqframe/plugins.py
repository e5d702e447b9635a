"""Plugin discovery: the ``seqframe`` entry-point group, each plugin loaded in isolation.

Every plugin -- the built-in ones included -- is a module named by an entry point. Loading goes
in three guarded stages per plugin: import the module, register it with pluggy (which validates
hook signatures; we also reject hooks that are not seqframe hooks, e.g. misspelled), then call
each of its ``register_*`` hooks. A failure at any stage marks that plugin failed and leaves the
others alone; the failure is reported as one line and again, in full, when a user selects a name
the plugin would have provided.

Registered targets stay unimported until selected (``"module:Class"`` strings), so building the
registry never imports torch.

A plugin's code never takes the command down with it: whatever its import or hooks raise --
``SystemExit`` and ``KeyboardInterrupt`` included -- marks that plugin failed, and whatever it
prints to standard output is captured (kept in its record, shown by ``--traceback``), so it
cannot corrupt the output of a command such as ``seqframe plugins --json``.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import re
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from . import hookspecs
from .errors import (
    MissingDependencyError,
    PluginError,
    UnknownNameError,
    UsageError,
    closest,
)

GROUP = "seqframe"
DISABLE_ENV = "SEQFRAME_DISABLE_PLUGINS"
KINDS = ("backend", "cell", "task", "loss")
_HOOK_OF_KIND = {
    "backend": "seqframe_register_backends",
    "cell": "seqframe_register_cells",
    "task": "seqframe_register_tasks",
    "loss": "seqframe_register_losses",
}
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")
# optional dependencies of the built-in plugins, and how to install them
INSTALL_HINTS = {
    "torch": "pip install 'seqframe[torch]'",
    "datasets": "pip install 'seqframe[hf]'",
}


@dataclass
class PluginRecord:
    """One entry point of the ``seqframe`` group and what became of it."""

    name: str
    module: str
    distribution: str
    version: str
    status: str = "ok"  # ok | failed | disabled
    error: str | None = None  # one line: "ImportError: No module named 'foo'"
    stage: str | None = None  # import | validation | a hook name
    trace: str | None = None  # the full traceback, for --traceback
    registered: dict[str, list[str]] = field(default_factory=dict)
    printed: str = ""  # what its code wrote to standard output (captured, not shown)

    @property
    def origin(self) -> str:
        return f"{self.distribution} {self.version}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "status": self.status,
            "error": self.error,
            "registered": self.registered,
        }


@dataclass
class Registration:
    kind: str
    name: str
    target: Any  # a class, or "module:attr"
    description: str
    plugin: PluginRecord


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def disabled_names(environ: dict[str, str] | None = None) -> set[str]:
    raw = (environ if environ is not None else os.environ).get(DISABLE_ENV, "")
    return {part.strip() for part in raw.split(",") if part.strip()}


@contextlib.contextmanager
def _captured(record: PluginRecord):
    """Keep what plugin code prints to standard output in ``record.printed``."""
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            yield
    finally:
        record.printed += buffer.getvalue()


class Registry:
    """Every plugin, and every backend, cell and task they registered.

    Args:
        specs: the module of hook specifications (seqframe's own; tests pass a grown one).
    """

    def __init__(self, specs: Any = hookspecs) -> None:
        self.specs = specs
        self.pm = pluggy.PluginManager(GROUP)
        self.pm.add_hookspecs(specs)
        self.plugins: dict[str, PluginRecord] = {}
        self.entries: dict[str, dict[str, Registration]] = {kind: {} for kind in KINDS}
        self.conflicts: dict[tuple[str, str], list[Registration]] = {}
        self.warnings: list[str] = []  # e.g. an unknown name in SEQFRAME_DISABLE_PLUGINS

    # ---- building ----------------------------------------------------------------------------
    def add_entry_point(self, ep: EntryPoint, disabled: set[str]) -> PluginRecord:
        dist = getattr(ep, "dist", None)
        record = PluginRecord(
            name=ep.name,
            module=ep.value,
            distribution=dist.name if dist else "unknown",
            version=dist.version if dist else "unknown",
        )
        self.plugins[record.name] = record
        if ep.name in disabled:
            record.status = "disabled"
            return record
        try:
            with _captured(record):
                module = ep.load()
        except BaseException as exc:  # noqa: BLE001 - a plugin's import may raise anything,
            return self._fail(record, "import", exc)  # sys.exit() and KeyboardInterrupt too
        return self.add_module(module, record)

    def add_module(self, module: Any, record: PluginRecord) -> PluginRecord:
        """Register an imported plugin module and call its hooks, each in isolation."""
        self.plugins[record.name] = record
        try:
            self.pm.register(module, name=record.name)
        except Exception as exc:  # pluggy.PluginValidationError, ValueError on a duplicate
            return self._fail(record, "validation", exc)
        unknown = [hc.name for hc in self.pm.get_hookcallers(module) or [] if hc.spec is None]
        if unknown:
            specs = [name for name in dir(self.specs) if name.startswith("seqframe_")]
            guess = closest(unknown[0], specs)
            hint = f"; did you mean {guess!r}?" if guess else ""
            self.pm.unregister(module)
            return self._fail(
                record,
                "validation",
                PluginError(
                    f"plugin {record.name!r} implements {unknown[0]!r}, which is not a seqframe "
                    f"hook{hint} Hooks: {', '.join(specs)}."
                ),
            )
        for kind, hook_name in _HOOK_OF_KIND.items():
            try:
                with _captured(record):
                    self.call_hook(hook_name, module, **self.hook_arguments(kind, record))
            except BaseException as exc:  # noqa: BLE001 - see add_entry_point
                self._drop(record)
                return self._fail(record, hook_name, exc)
        return record

    def hook_arguments(self, kind: str, record: PluginRecord) -> dict[str, Any]:
        """What a ``seqframe_register_<kind>s`` call passes (a grown spec adds to this)."""
        return {"register": self._registrar(kind, record)}

    def call_hook(self, hook_name: str, module: Any, **arguments: Any) -> None:
        """Call ``module``'s implementation of ``hook_name`` alone, through pluggy.

        pluggy hands each implementation only the arguments it declares, so a hook
        specification can gain an argument without breaking the plugins written before it; one
        plugin at a time keeps each plugin's failure its own.
        """
        others = [p for p in self.pm.get_plugins() if p is not module]
        self.pm.subset_hook_caller(hook_name, remove_plugins=others)(**arguments)

    def _registrar(self, kind: str, record: PluginRecord):
        def register(name: str, target: Any, description: str = "") -> None:
            if not isinstance(name, str) or not _NAME_RE.match(name):
                raise ValueError(
                    f"{kind} name {name!r} is not valid: use lowercase letters, digits, - and _"
                )
            reg = Registration(kind, name, target, description, record)
            existing = self.entries[kind].get(name)
            if existing is not None:
                self.conflicts.setdefault((kind, name), [existing]).append(reg)
            else:
                self.entries[kind][name] = reg
            record.registered.setdefault(kind, []).append(name)

        return register

    def _drop(self, record: PluginRecord) -> None:
        """Forget what a failing plugin registered before it failed."""
        for kind in KINDS:
            for name in record.registered.get(kind, []):
                if self.entries[kind].get(name) and self.entries[kind][name].plugin is record:
                    del self.entries[kind][name]
        record.registered = {}

    def _fail(self, record: PluginRecord, stage: str, exc: BaseException) -> PluginRecord:
        record.status, record.stage = "failed", stage
        record.error = _one_line(exc)
        record.trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        if record.printed:
            record.trace += f"(the plugin printed: {record.printed.strip()[:2000]})\n"
        return record

    # ---- using -------------------------------------------------------------------------------
    def names(self, kind: str) -> list[str]:
        return sorted(self.entries[kind])

    def registration(self, kind: str, name: str) -> Registration:
        """The registration of ``name``, or the error that explains why there is none."""
        if (kind, name) in self.conflicts:
            regs = self.conflicts[(kind, name)]
            who = " and ".join(f"plugin {r.plugin.name!r} ({r.plugin.origin})" for r in regs)
            raise PluginError(
                f"{kind} {name!r} is registered by both {who}. Uninstall one of them, or disable "
                f"one with {DISABLE_ENV}={regs[-1].plugin.name}."
            )
        if name in self.entries[kind]:
            return self.entries[kind][name]
        record = self.plugins.get(name)
        if record is not None and record.status == "failed":
            raise self._failed_error(kind, name, record)
        if record is not None and record.status == "disabled":
            raise UsageError(
                f"{kind} {name!r} comes from plugin {name!r}, which {DISABLE_ENV} disables. "
                f"Remove it from {DISABLE_ENV} to use it."
            )
        failed = [r.name for r in self.plugins.values() if r.status == "failed"]
        hint = f"(Plugins that failed to load: {', '.join(failed)}.)" if failed else ""
        disabled = sorted(r.name for r in self.plugins.values() if r.status == "disabled")
        if disabled:
            hint += (f"{' ' if hint else ''}({DISABLE_ENV} disables plugin(s) "
                     f"{', '.join(disabled)}; if one of them provides {kind} {name!r}, remove "
                     f"it from {DISABLE_ENV}.)")
        raise UnknownNameError(kind, name, self.entries[kind], hint)

    def load(self, kind: str, name: str) -> Any:
        """The class registered as ``name``, imported now if it was registered lazily.

        Raises:
            UnknownNameError: nothing registered ``name`` (exit 2).
            PluginError: its plugin failed, or importing it failed (exit 3).
            MissingDependencyError: it needs an optional package that is not installed (exit 3).
        """
        reg = self.registration(kind, name)
        if not isinstance(reg.target, str):
            return reg.target
        module_name, _, attr = reg.target.partition(":")
        try:
            with _captured(reg.plugin):
                return getattr(importlib.import_module(module_name), attr)
        except ModuleNotFoundError as exc:
            missing = (exc.name or "").split(".")[0]
            if missing in INSTALL_HINTS:
                raise MissingDependencyError(
                    f"{kind} {name!r} needs {missing}, which is not installed. "
                    f"Install it with: {INSTALL_HINTS[missing]}"
                ) from exc
            raise self._target_error(reg, exc) from exc
        except BaseException as exc:  # noqa: BLE001 - sys.exit() in a plugin is its failure
            raise self._target_error(reg, exc) from exc

    def _target_error(self, reg: Registration, exc: BaseException) -> PluginError:
        return PluginError(
            f"{reg.kind} {reg.name!r} could not be loaded from {reg.target!r} "
            f"(plugin {reg.plugin.name!r}, {reg.plugin.origin}): {_one_line(exc)}. "
            f"Reinstall or upgrade {reg.plugin.distribution}, or report it to its authors."
        )

    def _failed_error(self, kind: str, name: str, record: PluginRecord) -> PluginError:
        error = PluginError(
            f"{kind} {name!r}: plugin {record.name!r} ({record.origin}) failed at "
            f"{record.stage}: {record.error}. Reinstall or upgrade {record.distribution}, "
            f"report it to its authors, or disable it with {DISABLE_ENV}={record.name}."
        )
        error.detail = record.trace  # what --traceback prints
        return error

    def add_commands(self, cli: Any, builtin: Iterable[str]) -> None:
        """Call every plugin's ``seqframe_register_commands`` hook, in isolation."""
        builtin = set(builtin)
        for impl in self.pm.hook.seqframe_register_commands.get_hookimpls():
            record = self.plugins[impl.plugin_name]
            before = dict(cli.commands)
            try:
                with _captured(record):
                    self.call_hook("seqframe_register_commands", impl.plugin, cli=cli)
            except BaseException as exc:  # noqa: BLE001 - see add_entry_point
                cli.commands.clear()
                cli.commands.update(before)
                self._fail(record, "seqframe_register_commands", exc)
                continue
            shadowed = sorted(n for n in builtin if cli.commands.get(n) is not before.get(n))
            for name in shadowed:  # a plugin never replaces a built-in command
                cli.commands[name] = before[name]
            if shadowed:
                self._fail(record, "seqframe_register_commands", PluginError(
                    f"command {shadowed[0]!r} is built in; choose another name"))
            added = sorted(set(cli.commands) - set(before))
            if added:
                record.registered.setdefault("command", []).extend(added)

    def failures(self) -> list[PluginRecord]:
        return [r for r in self.plugins.values() if r.status == "failed"]


def build_registry(eps: Iterable[EntryPoint] | None = None,
                   disabled: set[str] | None = None) -> Registry:
    """Discover and load every plugin of the ``seqframe`` entry-point group."""
    registry = Registry()
    eps = list(entry_points(group=GROUP) if eps is None else eps)
    disabled = disabled_names() if disabled is None else disabled
    for ep in sorted(eps, key=lambda e: e.name):
        registry.add_entry_point(ep, disabled)
    names = sorted({ep.name for ep in eps})
    for unknown in sorted(disabled - set(names)):
        guess = closest(unknown, names)
        registry.warnings.append(
            f"{DISABLE_ENV} names {unknown!r}, which is not an installed plugin"
            f"{f'; did you mean {guess!r}?' if guess else '.'} Installed plugins: "
            f"{', '.join(names) or '(none)'}.")
    return registry


_REGISTRY: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, built on first use."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = build_registry()
    return _REGISTRY


def reset_registry() -> None:
    """Forget the process-wide registry (tests, or after installing a plugin)."""
    global _REGISTRY
    _REGISTRY = None
