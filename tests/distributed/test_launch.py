"""``seqframe run --nproc N`` becomes the torchrun command; nothing else is touched."""

from __future__ import annotations

import sys

import pytest

from seqframe.cli.launch import launch_from_argv
from seqframe.config import RunConfig, write_toml
from seqframe.errors import ConfigError, MissingDependencyError

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone"]


class Spawn:
    """Records the command instead of running it and answers with ``code``."""

    def __init__(self, code: int = 0):
        self.code, self.commands = code, []

    def __call__(self, cmd):
        self.commands.append(cmd)
        return self.code


@pytest.fixture(autouse=True)
def torch_is_there(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())


def test_nproc_starts_torchrun_with_the_same_arguments_minus_nproc():
    spawn = Spawn()
    argv = ["--traceback", "run", "--backend", "torch", "--nproc", "2", "-o", "length=9", "-q"]
    assert launch_from_argv(argv, environ={}, spawn=spawn) == 0
    assert spawn.commands == [[*TORCHRUN, "--nproc-per-node=2", "-m", "seqframe", "--traceback",
                               "run", "--backend", "torch", "-o", "length=9", "-q"]]
    launch_from_argv(["run", "--nproc=3"], environ={}, spawn=spawn)
    assert spawn.commands[-1][4:] == ["--nproc-per-node=3", "-m", "seqframe", "run"]


@pytest.mark.parametrize("argv, environ", [
    (["run", "--backend", "torch"], {}),  # one process: the CLI goes on as usual
    (["run", "--nproc", "1"], {}),
    (["eval", "runs/x", "--nproc", "2"], {}),  # not a run
    (["run", "--nproc", "2"], {"WORLD_SIZE": "2"}),  # already one of torchrun's processes
])
def test_nothing_is_started_otherwise(argv, environ):
    spawn = Spawn()
    assert launch_from_argv(argv, environ=environ, spawn=spawn) is None
    assert spawn.commands == []


def test_a_failed_run_passes_the_exit_code_on_and_says_how_to_resume(capsys):
    assert launch_from_argv(["run", "--nproc", "2", "--out", "r9"], environ={},
                            spawn=Spawn(1)) == 1
    err = capsys.readouterr().err
    assert "error: the 2-process run failed (torchrun exit code 1)" in err
    assert "`seqframe run --resume r9`" in err


def test_resume_starts_as_many_processes_as_the_run_was_trained_with(tmp_path):
    write_toml(RunConfig(nproc=2), tmp_path / "config.toml")
    spawn = Spawn()
    launch_from_argv(["run", "--resume", str(tmp_path)], environ={}, spawn=spawn)
    assert spawn.commands[0][4:] == ["--nproc-per-node=2", "-m", "seqframe", "run", "--resume",
                                     str(tmp_path)]
    with pytest.raises(ConfigError, match=r"trained with 2 process\(es\) but this resume has 3"):
        launch_from_argv(["run", "--resume", str(tmp_path), "--nproc", "3"], environ={},
                         spawn=spawn)


def test_nproc_in_a_run_file_counts_too(tmp_path):
    (tmp_path / "run.toml").write_text("task = 'adding'\nnproc = 2\n")
    spawn = Spawn()
    launch_from_argv(["run", "--config", str(tmp_path / "run.toml")], environ={}, spawn=spawn)
    assert spawn.commands[0][4] == "--nproc-per-node=2"
    spawn = Spawn()
    launch_from_argv(["run", "--config", str(tmp_path / "run.toml"), "--nproc", "1"],
                     environ={}, spawn=spawn)
    assert spawn.commands == []  # the flag overrides the file


def test_nproc_must_be_a_number():
    with pytest.raises(ConfigError, match="--nproc expects a whole number of processes; got 'two'"):
        launch_from_argv(["run", "--nproc", "two"], environ={}, spawn=Spawn())


def test_an_ensemble_is_refused_before_torchrun_starts(tmp_path):
    spawn = Spawn()
    with pytest.raises(ConfigError, match=r"--ensemble trains its members one after another in "
                       r"one process; drop --nproc"):
        launch_from_argv(["run", "--nproc", "2", "--ensemble", "3"], environ={}, spawn=spawn)
    (tmp_path / "run.toml").write_text("ensemble = 2\nnproc = 2\n")
    with pytest.raises(ConfigError, match="drop --nproc"):
        launch_from_argv(["run", "--config", str(tmp_path / "run.toml")], environ={}, spawn=spawn)
    assert spawn.commands == []
    launch_from_argv(["run", "--config", str(tmp_path / "run.toml"), "--ensemble", "1"],
                     environ={}, spawn=spawn)  # the flag overrides the file
    assert len(spawn.commands) == 1


def test_without_torch_the_launcher_says_what_to_install(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingDependencyError, match=r"--nproc 2 starts the processes with "
                       r"torchrun, which comes with PyTorch: pip install 'seqframe\[torch\]'"):
        launch_from_argv(["run", "--nproc", "2"], environ={}, spawn=Spawn())


def test_a_run_stopped_by_ctrl_c_exits_130_with_the_resume_command(capsys):
    assert launch_from_argv(["run", "--nproc", "2", "--out", "r9"], environ={},
                            spawn=Spawn(130)) == 130
    assert capsys.readouterr().err == "interrupted: continue with `seqframe run --resume r9`.\n"


def test_the_exit_code_of_the_launched_command_is_kept():
    from seqframe.cli.launch import _wait_for

    assert _wait_for([sys.executable, "-c", "raise SystemExit(3)"]) == 3
    kill = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    assert _wait_for([sys.executable, "-c", kill]) == 128 + 9
