"""``seqframe new-plugin``: write a small, working plugin package to start from.

The package is complete on the first go: a ``pyproject.toml`` with the ``seqframe`` entry point,
the plugin module, a test file that runs :mod:`seqframe.testing`'s conformance suite on it, and a
README. ``pip install -e DIR`` makes it visible to ``seqframe``; ``python -m pytest`` in DIR
passes; ``seqframe run`` trains with it. The templates live in ``seqframe/cli/templates/``.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from .. import __version__
from ..errors import UsageError

KINDS = ("task", "cell", "backend", "loss")
NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
MAX_NAME = 40

# kind -> (module file stem, class-name suffix, description, usage lines, suite, suite note)
_KIND_FACTS = {
    "task": ("task", "Task", "echo the input a few steps back (a template task)",
             "seqframe tasks {name}\nseqframe run --task {name} --steps 300",
             "TaskConformance", ", and make its metric cases your own"),
    "cell": ("cell", "Cell", "a leaky tanh RNN cell (a template cell)",
             "seqframe run --cell {name} --task adding -o length=10 --steps 300",
             "CellConformance", " (it gradient-checks the cell on every installed backend)"),
    "backend": ("ops", "Ops", "NumPy-based array backend (a template backend)",
                "seqframe backends\n"
                "seqframe run --backend {name} --task adding -o length=10 --steps 300",
                "BackendConformance", ""),
    "loss": ("loss", "Loss", "log-cosh regression loss (a template loss)",
             "seqframe losses {name}\n"
             "printf 'task = \"adding\"\\nloss = \"{name}\"\\n' > run.toml  # a run file\n"
             "seqframe run --config run.toml -o length=10 --steps 300",
             "LossConformance", " (it gradient-checks the loss on every installed backend)"),
}


def check_name(kind: str, name: str) -> None:
    """Raise UsageError unless ``name`` can name a new plugin of ``kind``."""
    if kind not in KINDS:
        raise UsageError(f"unknown plugin kind {kind!r}; expected one of {', '.join(KINDS)}.")
    if not isinstance(name, str) or not NAME_RE.match(name) or len(name) > MAX_NAME:
        raise UsageError(
            f"{name!r} is not a valid plugin name: use lowercase letters and digits, starting "
            f"with a letter, with single - or _ between words, at most {MAX_NAME} characters "
            f"(e.g. 'sine' or 'noisy-sine')."
        )
    from ..plugins import get_registry

    registry = get_registry()
    if name in registry.names(kind) or name in registry.plugins:
        owner = registry.entries[kind].get(name)
        plugin = owner.plugin if owner else registry.plugins[name]
        raise UsageError(
            f"the name {name!r} is taken by plugin {plugin.name!r} ({plugin.origin}); two "
            f"plugins with one name cannot be installed together. Choose another name."
        )


def template_values(kind: str, name: str) -> dict[str, str]:
    """Everything the templates substitute for ``{{key}}``."""
    stem, suffix, description, usage, suite, note = _KIND_FACTS[kind]
    words = re.split(r"[-_]", name)
    release = __version__.split("+")[0].split(".")
    requirement = "seqframe" if release[0] == "0" and release[1:2] == ["0"] else \
        f"seqframe>={'.'.join(release[:2])}"
    return {
        "name": name,
        "kind": kind,
        "kinds": f"{kind}es" if kind.endswith("s") else f"{kind}s",
        "module": "seqframe_" + "_".join(words),
        "module_name": "_".join(words),
        "module_stem": stem,
        "module_file": f"{stem}.py",
        "class_name": "".join(w.capitalize() for w in words) + suffix,
        "dist": f"seqframe-{name}",
        "description": description,
        "requirement": requirement,
        "usage": usage.format(name=name),
        "suite": suite,
        "suite_note": note,
    }


def _layout(kind: str, values: dict[str, str]) -> dict[str, str]:
    """Output path (relative to the package directory) -> template path."""
    module, stem = values["module"], values["module_stem"]
    return {
        "pyproject.toml": "common/pyproject.toml.tmpl",
        "README.md": "common/README.md.tmpl",
        f"{module}/__init__.py": "common/__init__.py.tmpl",
        f"{module}/plugin.py": "common/plugin.py.tmpl",
        f"{module}/{stem}.py": f"{kind}/{stem}.py.tmpl",
        f"tests/test_{values['module_name']}.py": f"{kind}/test.py.tmpl",
    }


def render(template: str, values: dict[str, str]) -> str:
    """Replace every ``{{key}}``; a placeholder without a value is a bug in the templates."""
    text = re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], template)
    assert "{{" not in text, "unreplaced placeholder in a seqframe template"
    return text


def _target_directory(name: str, directory: str | Path | None) -> Path:
    target = Path(directory) if directory is not None else Path.cwd() / f"seqframe-{name}"
    if target.exists() and not target.is_dir():
        raise UsageError(f"{str(target)!r} exists and is not a directory; choose another "
                         f"--directory.")
    if target.is_dir() and any(target.iterdir()):
        raise UsageError(
            f"{str(target)!r} already exists and is not empty; new-plugin never overwrites "
            f"files. Choose another --directory, or remove that one first."
        )
    return target


def new_plugin(kind: str, name: str, directory: str | Path | None = None) -> list[Path]:
    """Write a new plugin package of ``kind`` named ``name``.

    Args:
        kind: ``task``, ``cell`` or ``backend``.
        name: the name users will type (``--task NAME``); also the entry point's name.
        directory: where to write it; default ``./seqframe-NAME``. It must not exist or be empty.

    Returns:
        The files written, in order.

    Raises:
        UsageError: an unknown kind, an invalid or taken name, a non-empty directory.
    """
    check_name(kind, name)
    target = _target_directory(name, directory)
    values = template_values(kind, name)
    templates = resources.files("seqframe.cli") / "templates"
    written = []
    for relative, template in _layout(kind, values).items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(templates.joinpath(template).read_text("utf-8"), values), "utf-8")
        written.append(path)
    return written
