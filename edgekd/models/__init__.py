"""Model zoo behind one factory: `create_model(name, input_shape, num_classes, width=...)`.

Names resolve lazily: `edgekd.models.catalog` (the zoo's figures, `edgekd zoo`) imports no torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_API = {
    name: "edgekd.models.registry" for name in ("create_model", "list_models", "register_model")
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'edgekd.models' has no attribute '{name}'")
    return getattr(importlib.import_module(_API[name]), name)
