"""The plugin manager: discovery, isolation of broken plugins, and the errors users see."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from seqframe import hookimpl, hookspecs
from seqframe.errors import (
    ExitCode,
    MissingDependencyError,
    PluginError,
    UnknownNameError,
    UsageError,
)
from seqframe.plugins import PluginRecord, Registry, build_registry, disabled_names, get_registry


@dataclass
class FakeEntryPoint:
    """Quacks like importlib.metadata.EntryPoint, with a distribution of our choosing."""

    name: str
    value: str
    dist_name: str = "demo-dist"
    dist_version: str = "1.2.3"

    @property
    def dist(self):
        return SimpleNamespace(name=self.dist_name, version=self.dist_version)

    def load(self):
        return importlib.import_module(self.value)


def fixture_ep(name: str, module: str, dist: str | None = None) -> FakeEntryPoint:
    return FakeEntryPoint(name, f"tests.plugin_fixtures.{module}", dist or f"seqframe-{name}")


def registry_of(*eps: FakeEntryPoint, disabled: set[str] | None = None) -> Registry:
    return build_registry(eps, disabled=disabled or set())


def test_builtin_plugins_are_discovered_through_entry_points():
    registry = get_registry()
    assert {"numpy", "torch", "cells"} <= set(registry.plugins)
    assert registry.plugins["numpy"].distribution == "seqframe"
    assert "numpy" in registry.names("backend")
    assert {"rnn", "lstm", "gru"} <= set(registry.names("cell"))


def test_building_the_registry_does_not_import_torch(tmp_path):
    import subprocess

    code = (
        "import sys; from seqframe.plugins import build_registry; r = build_registry(); "
        "assert 'torch' in r.names('backend'), r.names('backend'); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_good_plugin_registers_lazily_and_loads_on_selection(monkeypatch):
    monkeypatch.delitem(sys.modules, "tests.plugin_fixtures.good_target", raising=False)
    registry = registry_of(fixture_ep("good", "good"))
    assert registry.plugins["good"].status == "ok"
    assert registry.plugins["good"].registered == {"task": ["good-task"]}
    assert "tests.plugin_fixtures.good_target" not in sys.modules
    assert registry.load("task", "good-task").name == "good-task"


def test_import_failure_marks_only_that_plugin_failed():
    registry = registry_of(fixture_ep("good", "good"), fixture_ep("broken", "broken_import"))
    broken = registry.plugins["broken"]
    assert broken.status == "failed" and broken.stage == "import"
    assert "seqframe_no_such_dependency" in broken.error
    assert registry.plugins["good"].status == "ok"
    assert registry.load("task", "good-task")


def test_selecting_a_failed_plugin_says_what_failed_where_and_what_to_do():
    registry = registry_of(fixture_ep("broken", "broken_import", dist="broken-dist"))
    with pytest.raises(PluginError, match=r"plugin 'broken' \(broken-dist 1\.2\.3\) failed at "
                       r"import: ModuleNotFoundError.*SEQFRAME_DISABLE_PLUGINS=broken") as info:
        registry.load("backend", "broken")
    assert info.value.exit_code == ExitCode.PLUGIN


def test_misspelled_hook_is_an_error_naming_plugin_and_hook():
    registry = registry_of(fixture_ep("typo", "misspelled"))
    record = registry.plugins["typo"]
    assert record.status == "failed"
    assert "plugin 'typo' implements 'seqframe_register_task'" in record.error
    assert "did you mean 'seqframe_register_tasks'" in record.error
    assert "never" not in registry.names("task")


def test_raising_hook_fails_the_plugin_and_forgets_its_partial_registrations():
    registry = registry_of(fixture_ep("raising", "raising"), fixture_ep("good", "good"))
    record = registry.plugins["raising"]
    assert record.status == "failed" and record.stage == "seqframe_register_backends"
    assert record.error == "RuntimeError: registry exploded"
    assert "half-done" not in registry.names("backend")
    assert registry.plugins["good"].status == "ok"


def test_invalid_registered_name_fails_the_plugin():
    registry = registry_of(fixture_ep("badname", "bad_name"))
    assert "is not valid: use lowercase letters" in registry.plugins["badname"].error


def test_duplicate_names_are_an_error_naming_both_distributions():
    registry = registry_of(fixture_ep("twin-a", "twin_a", dist="pkg-a"),
                           fixture_ep("twin-b", "twin_b", dist="pkg-b"))
    with pytest.raises(PluginError, match=r"task 'twin' is registered by both plugin 'twin-a' "
                       r"\(pkg-a 1\.2\.3\) and plugin 'twin-b' \(pkg-b 1\.2\.3\)"):
        registry.load("task", "twin")


def test_unknown_name_lists_what_exists_and_the_closest():
    registry = registry_of(fixture_ep("good", "good"))
    with pytest.raises(UnknownNameError, match=r"unknown task 'good-tsk'; did you mean "
                       r"'good-task'\? Available: good-task\.") as info:
        registry.load("task", "good-tsk")
    assert info.value.exit_code == ExitCode.USAGE


def test_unknown_name_mentions_plugins_that_failed():
    registry = registry_of(fixture_ep("broken", "broken_import"))
    with pytest.raises(UnknownNameError, match=r"Plugins that failed to load: broken"):
        registry.load("task", "charlm")


def test_disabled_plugins_are_skipped_and_selecting_them_says_why():
    registry = registry_of(fixture_ep("good", "good"), disabled={"good"})
    assert registry.plugins["good"].status == "disabled"
    assert registry.names("task") == []
    with pytest.raises(UsageError, match="SEQFRAME_DISABLE_PLUGINS disables"):
        registry.load("backend", "good")


def test_disable_env_var_is_a_comma_separated_list():
    assert disabled_names({"SEQFRAME_DISABLE_PLUGINS": " torch, charlm ,,"}) == {"torch", "charlm"}
    assert disabled_names({}) == set()


def test_missing_optional_dependency_gives_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    sys.modules.pop("tests.plugin_fixtures.imports_torch", None)
    registry = registry_of(fixture_ep("lazy", "lazy_targets"))
    with pytest.raises(MissingDependencyError, match=r"backend 'needs-torch' needs torch, which "
                       r"is not installed\. Install it with: pip install 'seqframe\[torch\]'") as e:
        registry.load("backend", "needs-torch")
    assert e.value.exit_code == ExitCode.PLUGIN


def test_target_that_cannot_be_imported_names_plugin_and_distribution():
    registry = registry_of(fixture_ep("lazy", "lazy_targets", dist="lazy-dist"))
    with pytest.raises(PluginError, match=r"backend 'gone' could not be loaded from "
                       r"'tests\.plugin_fixtures\.no_such_module:Backend' \(plugin 'lazy', "
                       r"lazy-dist 1\.2\.3\): ModuleNotFoundError"):
        registry.load("backend", "gone")


def test_plugin_commands_are_added_but_never_replace_builtins():
    import click

    @click.group()
    def group():
        pass

    @group.command("run")
    def builtin_run():
        pass

    registry = registry_of(fixture_ep("good", "good"), fixture_ep("hijack", "bad_command"))
    registry.add_commands(group, builtin=["run"])
    assert group.commands["run"] is builtin_run
    assert "hello-good" in group.commands
    assert registry.plugins["good"].registered["command"] == ["hello-good"]
    assert registry.plugins["hijack"].status == "failed"
    assert "command 'run' is built in" in registry.plugins["hijack"].error


# ---- hooks are called through pluggy, so a specification can grow -------------------------


class GrownSpecs:
    """seqframe's hook specifications with one more argument, as a later version might add."""

    @hookspecs.hookspec
    def seqframe_register_backends(self, register, seqframe_version): ...

    @hookspecs.hookspec
    def seqframe_register_cells(self, register, seqframe_version): ...

    @hookspecs.hookspec
    def seqframe_register_tasks(self, register, seqframe_version): ...

    @hookspecs.hookspec
    def seqframe_register_losses(self, register, seqframe_version): ...

    @hookspecs.hookspec
    def seqframe_register_commands(self, cli, seqframe_version): ...


class GrownRegistry(Registry):
    def hook_arguments(self, kind, record):
        return {**super().hook_arguments(kind, record), "seqframe_version": "9.9"}


class OldPlugin:
    """Written against today's specifications: it declares only ``register``."""

    @hookimpl
    def seqframe_register_tasks(self, register):
        register("old-task", "somewhere:Old")


class NewPlugin:
    seen: list = []

    @hookimpl
    def seqframe_register_tasks(self, register, seqframe_version):
        NewPlugin.seen.append(seqframe_version)
        register("new-task", "somewhere:New")


def test_a_grown_hook_specification_keeps_old_plugins_working():
    registry = GrownRegistry(specs=GrownSpecs)
    old = registry.add_module(OldPlugin(), PluginRecord("old", "old", "seqframe-old", "1"))
    new = registry.add_module(NewPlugin(), PluginRecord("new", "new", "seqframe-new", "1"))
    assert (old.status, new.status) == ("ok", "ok"), (old.error, new.error)
    assert registry.names("task") == ["new-task", "old-task"]
    assert NewPlugin.seen == ["9.9"]  # pluggy handed the new argument only to who declares it
