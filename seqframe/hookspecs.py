"""The whole extension surface of seqframe: five hooks, all of the shape ``register_<things>``.

A plugin is a module with functions decorated by :data:`seqframe.hookimpl`, exposed through the
``seqframe`` entry-point group of its distribution::

    [project.entry-points.seqframe]
    mytask = "seqframe_mytask.plugin"

The built-in backends, cells and tasks are declared exactly this way in seqframe's own
``pyproject.toml``. Every hook is called once per plugin, in isolation: a plugin whose hook raises
is marked failed (one warning line), and everything else keeps working.

The ``register`` callable each hook receives has the signature
``register(name, target, description="")``:

* ``name`` -- what users type (``--backend NAME``); lowercase letters, digits, ``-`` and ``_``.
* ``target`` -- the class, or a lazy ``"package.module:ClassName"`` string imported only when a
  user selects the name. Use the string form whenever the module imports something heavy:
  listing plugins must never import torch.
* ``description`` -- one line for ``seqframe plugins`` / ``seqframe tasks``.

Registering a name another plugin already registered is an error naming both distributions.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

hookspec = pluggy.HookspecMarker("seqframe")
hookimpl = pluggy.HookimplMarker("seqframe")

Register = Callable[..., None]


# ---- phase 1: discovery (called once per process, when the plugin manager is built) ----------


@hookspec
def seqframe_register_backends(register: Register) -> None:
    """Register array backends.

    Called: when seqframe builds its registries, before any command runs.

    Args:
        register: ``register(name, target, description="")``; ``target`` is an
            :class:`seqframe.ops.Ops` subclass (or its lazy import string). seqframe constructs it
            as ``target(dtype=..., device=...)``.

    Errors: an exception raised here marks this plugin failed; selecting its backend exits 3.

    Added in 0.1.
    """


@hookspec
def seqframe_register_cells(register: Register) -> None:
    """Register recurrent cells.

    Called: when seqframe builds its registries.

    Args:
        register: ``register(name, target, description="")``; ``target`` is a
            :class:`seqframe.cells.Cell` subclass (or its lazy import string), constructed with no
            arguments. A cell is written once against Ops and runs on every backend.

    Errors: as for :func:`seqframe_register_backends`.

    Added in 0.1.
    """


@hookspec
def seqframe_register_tasks(register: Register) -> None:
    """Register tasks (data, readout, loss, metrics, baselines, artefacts).

    Called: when seqframe builds its registries.

    Args:
        register: ``register(name, target, description="")``; ``target`` is a
            :class:`seqframe.task.Task` subclass (or its lazy import string).

    Errors: as for :func:`seqframe_register_backends`.

    Added in 0.1.
    """


@hookspec
def seqframe_register_losses(register: Register) -> None:
    """Register losses.

    Called: when seqframe builds its registries.

    Args:
        register: ``register(name, target, description="")``; ``target`` is a
            :class:`seqframe.losses.Loss` subclass (or its lazy import string), constructed with
            a run's ``loss_options`` as keyword arguments. A task names its loss
            (``ModelSpec.loss``); a run may choose another that fits it (same targets and outputs),
            or only those the task lists in ``ModelSpec.losses`` when it lists any.

    Errors: as for :func:`seqframe_register_backends`.

    Added in 0.2.
    """


# ---- phase 2: command line (called when the ``seqframe`` command starts) ---------------------


@hookspec
def seqframe_register_commands(cli) -> None:
    """Add commands to the ``seqframe`` command line.

    Called: once, when the ``seqframe`` click group is built, after the built-in commands.

    Args:
        cli: the :class:`click.Group`; add commands with ``@cli.command()``. A command named
            like a built-in one is refused with a warning.

    Errors: an exception raised here marks this plugin failed; other commands keep working.

    Added in 0.1.
    """
