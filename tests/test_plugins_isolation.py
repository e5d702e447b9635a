"""Hostile plugins (item 13): whatever a plugin's import or hooks do -- sys.exit(),
KeyboardInterrupt, printing -- it fails alone, and every command keeps working and keeps its
output clean. SEQFRAME_DISABLE_PLUGINS warns about names it does not know."""

from __future__ import annotations

import json
import sys
from importlib.metadata import entry_points

import pytest

from seqframe import plugins
from seqframe.errors import PluginError, UnknownNameError
from tests.test_plugins import fixture_ep, registry_of


@pytest.fixture
def with_plugins(monkeypatch):
    """The process registry: the installed plugins plus the given test fixtures."""

    def install(*eps, disabled=None):
        for ep in eps:
            sys.modules.pop(ep.value, None)  # import afresh: its import is what is tested
        registry = plugins.build_registry([*entry_points(group="seqframe"), *eps],
                                          disabled=disabled)
        monkeypatch.setattr(plugins, "_REGISTRY", registry)
        return registry

    yield install
    plugins.reset_registry()


@pytest.mark.parametrize("module, error", [
    ("exits_at_import", "SystemExit: 7"),
    ("interrupts_at_import", "KeyboardInterrupt"),
])
def test_a_plugin_that_exits_or_interrupts_at_import_fails_alone(sf, with_plugins, module,
                                                                 error):
    registry = with_plugins(fixture_ep("hostile", module))
    record = registry.plugins["hostile"]
    assert (record.status, record.stage, record.error) == ("failed", "import", error)
    code, out, err = sf("plugins", "--json")
    assert code == 0
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["hostile"]["status"] == "failed" and rows["numpy"]["status"] == "ok"
    assert f"plugin 'hostile' (seqframe-hostile 1.2.3) failed to load: {error}" in err


def test_a_hook_that_exits_fails_its_plugin_only():
    sys.modules.pop("tests.plugin_fixtures.exits_in_hook", None)
    registry = registry_of(fixture_ep("good", "good"), fixture_ep("quitter", "exits_in_hook"))
    assert registry.plugins["quitter"].status == "failed"
    assert registry.plugins["quitter"].error == "SystemExit: 4"
    assert registry.names("task") == ["good-task"]


def test_what_a_plugin_prints_is_captured_and_json_stays_clean(sf, with_plugins, capsys):
    registry = with_plugins(fixture_ep("chatty", "prints_at_import"))
    assert capsys.readouterr().out == ""
    assert registry.plugins["chatty"].printed == "hello from a chatty plugin\nregistering!\n"
    code, out, _ = sf("plugins", "--json")
    assert code == 0
    assert "chatty" in {row["name"] for row in json.loads(out)}  # valid JSON, nothing else


def test_a_lazy_target_that_exits_is_a_plugin_error(with_plugins):
    sys.modules.pop("tests.plugin_fixtures.exits_in_target", None)
    registry = with_plugins(fixture_ep("chatty", "prints_at_import"))
    with pytest.raises(PluginError, match=r"task 'chatty-task' could not be loaded from "
                       r"'tests.plugin_fixtures.exits_in_target:Task' \(plugin 'chatty', "
                       r"seqframe-chatty 1.2.3\): SystemExit: 5"):
        registry.load("task", "chatty-task")


def test_an_unknown_name_in_the_disable_variable_is_warned_about(sf, monkeypatch):
    monkeypatch.setenv("SEQFRAME_DISABLE_PLUGINS", "tourch")
    plugins.reset_registry()
    try:
        code, _, err = sf("backends")
    finally:
        plugins.reset_registry()
    assert code == 0
    assert ("seqframe: warning: SEQFRAME_DISABLE_PLUGINS names 'tourch', which is not an "
            "installed plugin; did you mean 'torch'?") in err


def test_asking_for_what_a_disabled_plugin_provides_says_it_is_disabled(with_plugins):
    registry = with_plugins(disabled={"cells"})
    with pytest.raises(UnknownNameError, match=r"unknown cell 'lstm'.*SEQFRAME_DISABLE_PLUGINS "
                       r"disables plugin\(s\) cells; if one of them provides cell 'lstm', remove "
                       r"it from SEQFRAME_DISABLE_PLUGINS"):
        registry.load("cell", "lstm")
