"""Errors the CLI turns into one line on stderr and exit code 2."""


class EdgeKDError(Exception):
    """Bad usage or bad input: the message names the problem and the fix."""


class ParityError(EdgeKDError):
    """The exported ONNX file does not compute what the PyTorch model computes."""


LINE_LIMIT = 300  # characters of an exception quoted in an error line


def first_line(e: BaseException, *, kind: bool = False) -> str:
    """An exception as one short line for an error message: its first non-blank line (the
    rest is usually a traceback or a dump), or its type's name when it says nothing.
    `kind`: prefix the type's name (`ValueError: ...`), for errors raised by user code, where
    the type is half the story. At most LINE_LIMIT characters."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    name = type(e).__name__
    if not lines:
        return name[:LINE_LIMIT]
    return (f"{name}: {lines[0]}" if kind else lines[0])[:LINE_LIMIT]
