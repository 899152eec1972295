"""Model zoo behind one factory: `create_model(name, input_shape, num_classes, width=...)`."""

from edgekd.models.registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "register_model"]
