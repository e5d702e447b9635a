"""``seqframe run --nproc N`` becomes the torchrun command; nothing else is touched."""

from __future__ import annotations

import sys

import pytest

from seqframe.cli import launch
from seqframe.cli.launch import launch_from_argv
from seqframe.config import RunConfig, write_toml
from seqframe.errors import ConfigError, MissingDependencyError

TORCHRUN = [sys.executable, "-c", launch._TORCHRUN]  # then "0"/"1" (--traceback), "--standalone"


class Spawn:
    """Records the command instead of running it and answers with ``code``."""

    def __init__(self, code: int = 0):
        self.code, self.commands = code, []

    def __call__(self, cmd):
        self.commands.append(cmd)
        return self.code


CHECK_LAUNCH = launch.check_launch


@pytest.fixture(autouse=True)
def torch_is_there(monkeypatch):
    """Pretend torch is installed; the settings checks (tested on their own below, with
    ``real_checks``) are skipped by the tests of how the command is built, which must not need
    torch to load its backend."""
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(launch, "check_launch", lambda rest, nproc: None)


@pytest.fixture
def real_checks(torch_is_there, monkeypatch):
    monkeypatch.setattr(launch, "check_launch", CHECK_LAUNCH)


def test_nproc_starts_torchrun_with_the_same_arguments_minus_nproc():
    spawn = Spawn()
    argv = ["--traceback", "run", "--backend", "torch", "--nproc", "2", "-o", "length=9", "-q"]
    assert launch_from_argv(argv, environ={}, spawn=spawn) == 0
    assert spawn.commands == [[*TORCHRUN, "1", "--standalone", "--nproc-per-node=2", "-m",
                               "seqframe", "--traceback", "run", "--backend", "torch", "-o",
                               "length=9", "-q"]]
    launch_from_argv(["run", "--nproc=4", "--backend", "torch"], environ={}, spawn=spawn)
    assert spawn.commands[-1][3:] == ["0", "--standalone", "--nproc-per-node=4", "-m", "seqframe",
                                      "run", "--backend", "torch"]


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


def test_a_failed_run_passes_the_exit_code_on_and_says_how_to_resume(capsys, tmp_path):
    out = str(tmp_path / "r9")
    assert launch_from_argv(["run", "--backend", "torch", "--nproc", "2", "--out", out],
                            environ={}, spawn=Spawn(2)) == 2
    err = capsys.readouterr().err
    assert "error: the 2-process run failed (exit code 2); the lines above say which" in err
    assert "No checkpoint had been written." in err
    (tmp_path / "r9" / "checkpoints").mkdir(parents=True)
    launch_from_argv(["run", "--backend", "torch", "--nproc", "2", "--out", out], environ={},
                     spawn=Spawn(1))
    assert f"`seqframe run --resume {out}`" in capsys.readouterr().err


def test_resume_starts_as_many_processes_as_the_run_was_trained_with(tmp_path):
    write_toml(RunConfig(nproc=2, backend="torch"), tmp_path / "config.toml")
    spawn = Spawn()
    launch_from_argv(["run", "--resume", str(tmp_path)], environ={}, spawn=spawn)
    assert spawn.commands[0][5:] == ["--nproc-per-node=2", "-m", "seqframe", "run", "--resume",
                                     str(tmp_path)]
    with pytest.raises(ConfigError, match=r"trained with 2 process\(es\) but this resume has 3"):
        launch_from_argv(["run", "--resume", str(tmp_path), "--nproc", "3"], environ={},
                         spawn=spawn)


def test_nproc_in_a_run_file_counts_too(tmp_path):
    (tmp_path / "run.toml").write_text("task = 'adding'\nbackend = 'torch'\nnproc = 2\n")
    spawn = Spawn()
    launch_from_argv(["run", "--config", str(tmp_path / "run.toml")], environ={}, spawn=spawn)
    assert spawn.commands[0][5] == "--nproc-per-node=2"
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
    (tmp_path / "run.toml").write_text("ensemble = 2\nnproc = 2\nbackend = 'torch'\n")
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
    for code in (130, 143):  # Ctrl-C, SIGTERM
        assert launch_from_argv(["run", "--backend", "torch", "--nproc", "2", "--out", "r9"],
                                environ={}, spawn=Spawn(code)) == code
        assert capsys.readouterr().err == ("interrupted: continue with `seqframe run --resume "
                                           "r9`.\n")


def test_the_exit_code_of_the_launched_command_is_kept():
    from seqframe.cli.launch import _wait_for

    assert _wait_for([sys.executable, "-c", "raise SystemExit(3)"]) == 3
    kill = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    assert _wait_for([sys.executable, "-c", kill]) == 128 + 9


# ---- the settings are checked before torchrun starts (exit code 2, one line) ------------------


@pytest.mark.parametrize("args, message", [
    (["--backend", "numpy"], r"backend 'numpy' cannot train data-parallel \(--nproc 2\); use "
                             r"--backend torch, or drop --nproc"),
    (["--backend", "torch", "--batch-size", "3"], r"--batch-size 3 cannot be split over 2 "
                                                  r"processes"),
    (["--backend", "torch", "--seed", "-1"], r"--seed must be a whole number >= 0; got -1"),
])
def test_settings_that_cannot_work_are_refused_before_torchrun_starts(real_checks, args,
                                                                      message):
    spawn = Spawn()
    with pytest.raises(ConfigError, match=message):
        launch_from_argv(["run", "--nproc", "2", "--task", "adding", *args], environ={},
                         spawn=spawn)
    assert spawn.commands == []


def test_through_the_cli_a_refused_launch_is_one_line_and_exit_code_2(real_checks, sf, tmp_path):
    code, out, err = sf("run", "--task", "adding", "--nproc", "2", "--out", str(tmp_path / "r"))
    assert code == 2
    assert err.strip().splitlines() == ["error: backend 'numpy' cannot train data-parallel "
                                        "(--nproc 2); use --backend torch, or drop --nproc."]
    assert not (tmp_path / "r").exists()


def test_torchruns_traceback_is_hidden_and_the_failed_processs_exit_code_kept(tmp_path):
    """The wrapper around torchrun, with a stand-in for torchrun's module that fails the way
    torchrun does (a ChildFailedError-like exception whose first failure exited with 2)."""
    import subprocess

    fake = tmp_path / "torch" / "distributed"
    fake.mkdir(parents=True)
    for folder in (tmp_path / "torch", fake):
        (folder / "__init__.py").write_text("")
    (fake / "run.py").write_text(
        "import logging, types\n"
        "class ChildFailedError(Exception):\n"
        "    def get_first_failure(self):\n"
        "        return 0, types.SimpleNamespace(exitcode=2)\n"
        "logging.getLogger('torch.distributed.elastic').error('failed (exitcode: 2)')\n"
        "raise ChildFailedError('seqframe FAILED (the big report)')\n")
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    quiet = subprocess.run([sys.executable, "-c", launch._TORCHRUN, "0"], env=env,
                           capture_output=True, text=True)
    assert quiet.returncode == 2
    assert quiet.stderr == ""
    shown = subprocess.run([sys.executable, "-c", launch._TORCHRUN, "1"], env=env,
                           capture_output=True, text=True)
    assert shown.returncode == 1
    assert "Traceback" in shown.stderr and "seqframe FAILED (the big report)" in shown.stderr
    assert "failed (exitcode: 2)" in shown.stderr
