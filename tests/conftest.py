import os
import sys
import tempfile
from pathlib import Path


def _share_bytecode() -> None:
    """Let every process of the suite reuse compiled bytecode, kept outside the source trees.

    The venv is installed with `pip --no-compile` (Makefile); where PYTHONDONTWRITEBYTECODE is
    also set, every `edgekd` child process (DDP ranks, search workers, killed runs, benchmark
    children) compiled torch's modules from source again: ~9 s of CPU per process on 2 cores.
    A pycache prefix keeps the source trees clean, which is what that variable is for; it is
    set before torch is imported so this process (torch._dynamo, the ONNX exporter, imported
    lazily) writes the cache too.
    """
    if not (sys.flags.dont_write_bytecode or os.environ.get("PYTHONDONTWRITEBYTECODE")):
        return  # bytecode is written beside the sources already
    prefix = os.environ.get("PYTHONPYCACHEPREFIX") or str(
        Path(tempfile.gettempdir()) / f"edgekd-test-pycache-{os.getuid()}"
    )
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = prefix
    sys.pycache_prefix = prefix
    sys.dont_write_bytecode = False


_share_bytecode()

import pytest  # noqa: E402
import torch  # noqa: E402

from edgekd.data import load_data  # noqa: E402


@pytest.fixture(scope="session")
def digits():
    return load_data("digits", seed=0)


@pytest.fixture(autouse=True)
def _single_thread_torch():
    """Two-core CI: torch's own thread pool would fight onnxruntime's and the other tests."""
    torch.set_num_threads(1)
