"""The command line: listing, errors and exit codes, plugin isolation as a user sees it."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import seqframe
from seqframe import plugins
from tests.test_plugins import fixture_ep

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def with_plugins(monkeypatch):
    """Make the process registry the real plugins plus some test fixtures."""

    def install(*eps):
        registry = plugins.build_registry([*entry_points(group="seqframe"), *eps])
        monkeypatch.setattr(plugins, "_REGISTRY", registry)
        return registry

    yield install
    plugins.reset_registry()


def test_version(sf):
    code, out, _ = sf("--version")
    assert code == 0 and seqframe.__version__ in out


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "seqframe", "--version"], capture_output=True,
                         text=True, check=True)
    assert f"version {seqframe.__version__}" in out.stdout


def test_plugins_table_and_json(sf):
    code, out, _ = sf("plugins")
    assert code == 0
    numpy_row = next(line for line in out.splitlines() if line.startswith("numpy "))
    assert "seqframe" in numpy_row and "backend: numpy" in numpy_row and numpy_row.endswith("ok")
    code, out, _ = sf("plugins", "--json")
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["torch"]["registered"] == {"backend": ["torch"]}
    torch_there = importlib.util.find_spec("torch") is not None
    assert rows["torch"]["status"] == ("ok" if torch_there else "not installed")
    assert rows["torch"]["version"] == seqframe.__version__


def test_a_backend_whose_package_is_missing_is_listed_as_not_installed(sf, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # what an install without torch looks like
    code, out, _ = sf("backends")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert rows["torch"].endswith("not installed (needs torch: pip install 'seqframe[torch]')")
    assert rows["numpy"].endswith("  ok")
    code, out, _ = sf("plugins", "--json")
    plugins_rows = {row["name"]: row for row in json.loads(out)}
    assert plugins_rows["torch"]["status"] == "not installed"
    assert plugins_rows["torch"]["error"] == "needs torch: pip install 'seqframe[torch]'"
    assert plugins_rows["numpy"]["status"] == "ok"
    code, out, _ = sf("plugins")
    torch_row = next(line for line in out.splitlines() if line.startswith("torch "))
    assert torch_row.endswith("not installed: needs torch: pip install 'seqframe[torch]'")


def test_backends_and_tasks_listings(sf):
    code, out, _ = sf("backends")
    assert code == 0 and "numpy" in out and "torch" in out
    code, out, _ = sf("tasks")
    assert code == 0 and "adding" in out


def test_task_options_listing(sf, with_plugins):
    with_plugins(fixture_ep("good", "good"))
    code, out, _ = sf("tasks", "adding")
    assert code == 0
    assert "length" in out and "int" in out


def test_unknown_task_exits_2_with_closest_match(sf):
    code, _, err = sf("tasks", "addin")
    assert code == 2
    assert "error: unknown task 'addin'; did you mean 'adding'?" in err


def test_broken_plugin_warns_once_and_other_commands_keep_working(sf, with_plugins):
    with_plugins(fixture_ep("broken", "broken_import", dist="broken-dist"))
    code, out, err = sf("backends")
    assert code == 0 and "numpy" in out
    warnings = [line for line in err.splitlines() if "'broken'" in line]
    assert warnings == [
        "seqframe: warning: plugin 'broken' (broken-dist 1.2.3) failed to load: "
        "ModuleNotFoundError: No module named 'seqframe_no_such_dependency' "
        "(see `seqframe plugins`)"
    ]
    code, out, _ = sf("plugins")
    assert "failed: ModuleNotFoundError" in out


def test_selecting_a_broken_plugin_exits_3(sf, with_plugins):
    with_plugins(fixture_ep("broken", "broken_import", dist="broken-dist"))
    code, _, err = sf("tasks", "broken")
    assert code == 3
    assert "error: task 'broken': plugin 'broken' (broken-dist 1.2.3) failed at import" in err


def test_traceback_flag_shows_the_plugins_own_trace(sf, with_plugins):
    with_plugins(fixture_ep("broken", "broken_import"))
    code, _, err = sf("--traceback", "tasks", "broken")
    assert code == 3
    assert "Traceback (most recent call last)" in err
    assert "import seqframe_no_such_dependency" in err


def test_plugin_command_runs(sf, with_plugins):
    with_plugins(fixture_ep("good", "good"))
    code, out, _ = sf("hello-good")
    assert code == 0 and out.strip() == "hello from good"


def test_malformed_task_option_exits_2(sf):
    code, _, err = sf("run", "-o", "horizon24")
    assert code == 2
    assert "-o expects KEY=VALUE, got 'horizon24'" in err


def test_click_usage_errors_exit_2(sf):
    code, _, err = sf("run", "--hidden", "many")
    assert code == 2 and "'many' is not a valid integer" in err


def test_disable_env_var_reaches_the_cli():
    env = {**__import__("os").environ, "SEQFRAME_DISABLE_PLUGINS": "torch,adding"}
    out = subprocess.run([sys.executable, "-m", "seqframe", "plugins", "--json"], env=env,
                         capture_output=True, text=True, check=True)
    rows = {row["name"]: row for row in json.loads(out.stdout)}
    assert rows["torch"]["status"] == "disabled" and rows["adding"]["status"] == "disabled"
    assert rows["numpy"]["status"] == "ok"


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory):
    """The third-party demo plugin, pip-installed into a private site directory."""
    target = tmp_path_factory.mktemp("demo-site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(REPO / "tests" / "demo_plugin")],
        check=True, capture_output=True, text=True,
    )
    return target


def run_with_site(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**__import__("os").environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, "-m", "seqframe", *args], env=env,
                          capture_output=True, text=True)


def test_installed_third_party_plugin_shows_in_plugins(demo_site):
    result = run_with_site(demo_site, "plugins", "--json")
    assert result.returncode == 0, result.stderr
    demo = {row["name"]: row for row in json.loads(result.stdout)}["demo"]
    assert demo["distribution"] == "seqframe-demo" and demo["version"] == "0.3.1"
    assert demo["registered"] == {"task": ["demo-sum"], "command": ["demo-hello"]}
    assert demo["status"] == "ok"


def test_installed_third_party_plugin_task_and_command(demo_site):
    result = run_with_site(demo_site, "tasks", "demo-sum")
    assert result.returncode == 0 and "length" in result.stdout
    result = run_with_site(demo_site, "demo-hello", "--name", "tester")
    assert result.stdout.strip() == "hello tester from seqframe-demo"
