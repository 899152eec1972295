"""Model zoo behind one factory: `create_model(name, input_shape, num_classes, width=...)`.

Names resolve lazily: `edgekd.models.catalog` (the zoo's figures, `edgekd zoo`) imports no torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_API = {
    "create_model": "edgekd.models.factory",
    "list_models": "edgekd.models.factory",
    "register_model": "edgekd.models.registry",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'edgekd.models' has no attribute '{name}'")
    return getattr(importlib.import_module(_API[name]), name)
