"""Target processor classes: which processor a budget's verdict is for, and whether its int8
kernels are the ones this host runs.

A budget named `phone` judged on an x86 server core says nothing about a phone unless the
figures say where they come from. Each budget names a target class; the host's own class is read
from /proc/cpuinfo (bench/host.py). When the two differ, host int8 timings and host int8
numerics are not evidence for the target (design.md, "Devices are not the build host"):
onnxruntime's int8 convolutions and GEMMs accumulate in 32 bits with one instruction on VNNI
(x86) and dot-product (ARM64) processors, while AVX2 without VNNI widens the products to 16
bits, where u8 x s8 sums can saturate
(https://onnxruntime.ai/docs/performance/model-optimizations/quantization.html, "When to try
U8U8" and the reduce_range notes). Torch-free: `edgekd bench` uses this on the device.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass

from edgekd.errors import EdgeKDError


@dataclass(frozen=True)
class Target:
    """A processor class a verdict is for."""

    name: str
    description: str
    kind: str  # "host" (whatever runs edgekd), "cpu" (runs onnxruntime) or "mcu" (estimated)
    int8_fast: bool  # int8 conv/GEMM kernels are the fast path there (32-bit dot products)
    clock_mhz: float | None = None  # MCU targets: the clock the estimate is scaled to


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("host", "the machine running edgekd: figures measured here", "host", False),
        Target("x86-avx2", "x86-64 with AVX2, no VNNI", "cpu", False),
        Target("x86-vnni", "x86-64 with AVX-512 VNNI or AVX-VNNI", "cpu", True),
        Target("arm64", "ARM64 with NEON dot-product (phone, Raspberry-Pi-5-class board)", "cpu",
               True),
        Target("cortex-m4", "Arm Cortex-M4 MCU at 120 MHz (NUCLEO-L4R5ZI class)", "mcu", True,
               120.0),
        Target("cortex-m7", "Arm Cortex-M7 MCU at 280 MHz (NUCLEO-H7A3ZI class)", "mcu", True,
               280.0),
    )
}  # fmt: skip

# The class each built-in profile is for. iot is a Raspberry-Pi-class Linux board: arm64.
PROFILE_TARGETS = {"phone": "arm64", "iot": "arm64", "mcu": "cortex-m4"}

_VNNI = ("avx512_vnni", "avx_vnni", "amx_int8")


def get_target(name: str) -> Target:
    """The target class called `name`, or EdgeKDError listing the valid ones."""
    if name not in TARGETS:
        raise EdgeKDError(f"unknown target {name!r}; use one of {', '.join(TARGETS)}")
    return TARGETS[name]


def host_class(features: list[str] | None, machine: str | None = None) -> str | None:
    """This host's target class from its CPU features (bench/host.py names), None if unknown."""
    machine = (machine or platform.machine()).lower()
    feats = set(features or ())
    if machine in ("aarch64", "arm64"):
        return "arm64" if "dotprod" in feats else None
    if machine in ("x86_64", "amd64"):
        if feats & set(_VNNI):
            return "x86-vnni"
        return "x86-avx2" if "avx2" in feats else None
    return None


@dataclass(frozen=True)
class KernelRule:
    """The target a choice is for and this host's class: host int8 timings and numerics are
    evidence for the target only when `differs` is False."""

    target: str = "host"
    host_class: str | None = None

    @property
    def differs(self) -> bool:
        return kernels_differ(self.target, self.host_class)


def kernels_differ(target: str, host: str | None) -> bool:
    """True when `target`'s int8 kernels are not the ones this host runs: its timings and
    numerics are then not evidence for the target. `host` target never differs."""
    return target != "host" and target != host


def processor_of(target: str, host_cpu: str) -> str:
    """The processor a figure for `target` is about, in words."""
    if target == "host":
        return host_cpu
    return f"{target} ({TARGETS[target].description})"
