"""What this machine can do, and which device and precision we pick on it.

The choice is automatic (CUDA -> 4-bit NF4 with bf16 compute; CPU -> bf16
where the CPU has native bf16 matrix units, else fp32) and every caller can
override it.  ``doctor_report()`` prints the facts behind the choice.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass

import torch

from lift_reader.errors import BadInputError

PRECISIONS = ("auto", "fp32", "bf16", "nf4")
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class Placement:
    """Where the base model lives and in which number format."""

    device: str  # "cpu" or "cuda" (or "cuda:N")
    precision: str  # "fp32", "bf16" or "nf4"

    @property
    def compute_dtype(self) -> torch.dtype:
        return torch.float32 if self.precision == "fp32" else torch.bfloat16

    def describe(self) -> str:
        if self.precision == "nf4":
            return f"{self.device}, 4-bit NF4 weights with bf16 compute"
        return f"{self.device}, {self.precision}"


def cpu_capability() -> str:
    """torch's name for the widest CPU vector ISA it dispatches to (e.g. AVX512)."""
    try:
        return torch.backends.cpu.get_cpu_capability()
    except Exception:  # very old torch or an exotic build
        return "unknown"


def cpu_flags() -> set[str]:
    """CPU feature flags from /proc/cpuinfo (empty where that file is missing)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_has_fast_bf16() -> bool:
    """True where bf16 matmuls run on dedicated units (AMX or AVX512-BF16).

    Measured on our Xeon with AMX: ~1,600 GFLOP/s in bf16 against ~280 in
    fp32.  Without these units bf16 is emulated and slower than fp32.
    """
    flags = cpu_flags()
    return bool({"amx_bf16", "avx512_bf16"} & flags) or cpu_capability() == "AVX512_BF16"


def cuda_available() -> bool:
    return torch.cuda.is_available()


def bitsandbytes_version() -> str | None:
    try:
        import bitsandbytes  # noqa: F401  (import is the check)
    except Exception:
        return None
    return getattr(bitsandbytes, "__version__", "unknown")


def choose_placement(device: str = "auto", precision: str = "auto") -> Placement:
    """Resolve "auto" choices against this machine; refuse impossible ones."""
    if device not in DEVICES and not device.startswith("cuda:"):
        raise BadInputError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if precision not in PRECISIONS:
        raise BadInputError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if device == "auto":
        device = "cuda" if cuda_available() else "cpu"
    if device.startswith("cuda") and not cuda_available():
        raise BadInputError("CUDA was requested but torch sees no CUDA GPU (see `lift-reader doctor`)")
    if precision == "auto":
        if device.startswith("cuda"):
            precision = "nf4" if bitsandbytes_version() else "bf16"
        else:
            precision = "bf16" if cpu_has_fast_bf16() else "fp32"
    if precision == "nf4" and bitsandbytes_version() is None:
        raise BadInputError("4-bit loading needs the bitsandbytes package: pip install bitsandbytes")
    return Placement(device=device, precision=precision)


def doctor_report() -> list[tuple[str, str]]:
    """Facts about this machine as (label, value) rows, for `lift-reader doctor`."""
    import transformers
    import peft

    rows = [
        ("python", platform.python_version()),
        ("platform", platform.platform()),
        ("torch", torch.__version__),
        ("transformers", transformers.__version__),
        ("peft", peft.__version__),
        ("bitsandbytes", bitsandbytes_version() or "not installed"),
        ("CPU cores", str(os.cpu_count())),
        ("torch threads", str(torch.get_num_threads())),
        ("CPU vector ISA", cpu_capability()),
        ("CPU bf16 units", "yes" if cpu_has_fast_bf16() else "no"),
        ("CUDA", torch.version.cuda or "not in this torch build"),
    ]
    if cuda_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            free, total = torch.cuda.mem_get_info(i)
            rows.append((f"GPU {i}", f"{props.name}, {total / 2**30:.1f} GiB ({free / 2**30:.1f} GiB free)"))
    else:
        rows.append(("GPU", "none visible to torch"))
    rows.append(("will use", choose_placement().describe()))
    return rows
