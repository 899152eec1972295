import pytest
import torch

from edgekd.data import load_data


@pytest.fixture(scope="session")
def digits():
    return load_data("digits", seed=0)


@pytest.fixture(autouse=True)
def _single_thread_torch():
    """Two-core CI: torch's own thread pool would fight onnxruntime's and the other tests."""
    torch.set_num_threads(1)
