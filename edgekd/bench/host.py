"""What the timings were taken on, including the instruction sets that decide int8 speed.

Two hosts that both call themselves "AMD EPYC" can disagree on whether int8 pays: one has
AVX-512 VNNI (an int8 dot product in one instruction), the other only AVX2 (int8 is widened
and multiplied in several). The feature flags say why, so every report carries them. Read
from /proc/cpuinfo, no new dependency; elsewhere the features are reported as unknown.
"""

from __future__ import annotations

import os
import platform
from typing import Any

from edgekd.bench.targets import KernelRule, get_target, host_class

CPUINFO = "/proc/cpuinfo"

# /proc/cpuinfo flag -> the name reported. x86 kernels name them as Intel does; Arm kernels
# say asimd/asimddp where Arm's manuals say NEON/dotprod.
INT8_FEATURES = {
    "avx2": "avx2",
    "avx512f": "avx512f",
    "avx512bw": "avx512bw",
    "avx512_vnni": "avx512_vnni",
    "avx_vnni": "avx_vnni",
    "amx_tile": "amx_tile",
    "amx_int8": "amx_int8",
    "neon": "neon",
    "asimd": "neon",
    "asimddp": "dotprod",
    "i8mm": "i8mm",
    "sve": "sve",
    "sve2": "sve2",
}

# Best int8 path first: (feature, what it means for int8 matmuls and convolutions).
INT8_PATHS = [
    ("amx_int8", "AMX int8 tiles: int8 matmuls far faster than fp32"),
    ("avx512_vnni", "AVX-512 VNNI: int8 dot products in one instruction"),
    ("avx_vnni", "AVX-VNNI: int8 dot products in one instruction (256-bit)"),
    ("i8mm", "Arm i8mm: int8 matrix-multiply instructions"),
    ("dotprod", "Arm dotprod: int8 dot products in one instruction"),
    ("avx512f", "AVX-512 without VNNI: int8 is widened and multiplied in several steps"),
    ("avx2", "AVX2 without VNNI: int8 is widened and multiplied in several steps"),
    ("neon", "NEON without dotprod: int8 is widened and multiplied in several steps"),
]


def read_cpuinfo(path: str = CPUINFO) -> tuple[str | None, list[str] | None]:
    """(CPU model name, int8-relevant features) from the first processor block; None if unread."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None, None
    model = flags = None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if model is None and key in ("model name", "hardware"):
            model = value.strip()
        elif flags is None and key in ("flags", "features"):
            flags = set(value.split())
    if flags is None:
        return model, None
    found = dict.fromkeys(INT8_FEATURES[f] for f in INT8_FEATURES if f in flags)
    return model, list(found)


def int8_path(features: list[str] | None) -> str:
    """One line on the fastest int8 path these features allow (why int8 pays here or not)."""
    if features is None:
        return "unknown: CPU features not readable on this host"
    for feature, meaning in INT8_PATHS:
        if feature in features:
            return meaning
    return "no SIMD int8 path found: expect little or no int8 speed-up"


def cpu_name(model: str | None = None) -> str:
    """This host's CPU in words (the processor every host-measured figure is about)."""
    return model or read_cpuinfo()[0] or platform.processor() or platform.machine()


def this_host_class() -> str | None:
    """The target class of the machine running edgekd (None: not one of the named classes)."""
    return host_class(read_cpuinfo()[1])


def kernel_rule(target: str) -> KernelRule:
    """`target` (EdgeKDError if unknown) against this host's class."""
    return KernelRule(get_target(target).name, this_host_class())


def host_info() -> dict[str, Any]:
    """What the timings were taken on: host timings are not device timings."""
    import onnxruntime

    model, features = read_cpuinfo()
    return {
        "cpu": cpu_name(model),
        "target_class": host_class(features),
        "cores": os.cpu_count(),
        "cpu_features": features,
        "int8_path": int8_path(features),
        "onnxruntime": onnxruntime.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
