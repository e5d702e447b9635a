"""Without PyTorch, seqframe lists plugins and runs numpy; choosing torch says how to install it.

Unlike the other modules here this one does not skip without torch: the numpy-only environment
is exactly where it matters. Each check runs in a fresh interpreter where ``import torch`` fails
(``sys.modules["torch"] = None`` is how Python spells "this module cannot be imported").
"""

import json
import subprocess
import sys
import textwrap

BLOCK_TORCH = "import sys\nsys.modules['torch'] = None\n"


def run_without_torch(code: str) -> subprocess.CompletedProcess:
    script = BLOCK_TORCH + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )


def test_the_shim_really_blocks_torch():
    proc = run_without_torch("import torch\n")
    assert proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr


def test_plugin_module_imports_without_torch():
    proc = run_without_torch(
        """
        import json
        import seqframe_torch, seqframe_torch.plugin
        seen = []
        seqframe_torch.plugin.seqframe_register_backends(
            register=lambda name, target, description="": seen.append([name, target]))
        print(json.dumps({"seen": seen, "torch_loaded": sys.modules.get("torch") is not None}))
        """
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out == {"seen": [["torch", "seqframe_torch.ops:TorchOps"]], "torch_loaded": False}


def test_registry_lists_torch_and_loading_it_gives_the_install_hint():
    proc = run_without_torch(
        """
        import json
        from seqframe.errors import MissingDependencyError
        from seqframe.plugins import get_registry
        reg = get_registry()
        result = {"listed": "torch" in reg.names("backend"),
                  "status": reg.plugins["torch"].status}
        try:
            reg.load("backend", "torch")
        except MissingDependencyError as exc:
            result["error"], result["exit"] = str(exc), int(exc.exit_code)
        print(json.dumps(result))
        """
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["listed"] and out["status"] == "ok"
    assert out["exit"] == 3
    assert "pip install 'seqframe[torch]'" in out["error"]


def test_backends_command_works_without_torch():
    proc = run_without_torch("from seqframe.cli.main import main\nmain(['backends'])\n")
    assert proc.returncode == 0, proc.stderr
    assert "torch" in proc.stdout and "plugin 'torch'" not in proc.stderr
