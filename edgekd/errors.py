"""Errors the CLI turns into one line on stderr and exit code 2."""


class EdgeKDError(Exception):
    """Bad usage or bad input: the message names the problem and the fix."""


class ParityError(EdgeKDError):
    """The exported ONNX file does not compute what the PyTorch model computes."""
