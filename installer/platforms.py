"""The platforms LipAlign ships for, named as the bundle names them (standard library only).

Each platform says which wheel tags pip may take for it and which values its environment markers
(``sys_platform``, ``platform_machine``) have, so a bundle for a Mac can be built on a Linux machine:
the lock's markers are evaluated for the target, not for the machine that builds.
"""

from __future__ import annotations

import platform as _platform
import sys
from dataclasses import dataclass

__all__ = ["PLATFORMS", "Platform", "this_platform"]


@dataclass(frozen=True)
class Platform:
    """One target: ``name`` as in the bundle's file name, pip's ``--platform`` tags, marker values."""

    name: str
    wheel_tags: tuple[str, ...]
    sys_platform: str
    platform_machine: str

    @property
    def markers(self) -> dict[str, str]:
        """The marker environment of this platform (python_version is added per interpreter)."""
        return {"sys_platform": self.sys_platform, "platform_machine": self.platform_machine,
                "platform_system": {"darwin": "Darwin", "win32": "Windows", "linux": "Linux"}[self.sys_platform],
                "os_name": "nt" if self.sys_platform == "win32" else "posix",
                "implementation_name": "cpython", "platform_python_implementation": "CPython"}


# pip widens a macOS tag to the older ones it implies (macosx_14_0 takes 11_0 and universal2) but not a PEP 600
# manylinux tag, so those are listed. macOS 14 is the oldest PyAV 18 has wheels for; glibc 2.34 (Rocky/RHEL 9,
# Ubuntu 22.04) the oldest PySide6 6.11 has Linux wheels for (manylinux_2_34).
MANYLINUX_X86_64 = (*(f"manylinux_2_{minor}_x86_64" for minor in range(34, 4, -1)),
                    "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64")
PLATFORMS = {p.name: p for p in (
    Platform("linux-x86_64", MANYLINUX_X86_64, "linux", "x86_64"),
    Platform("macos-arm64", ("macosx_14_0_arm64",), "darwin", "arm64"),
    Platform("macos-x86_64", ("macosx_14_0_x86_64",), "darwin", "x86_64"),
    Platform("windows-x86_64", ("win_amd64",), "win32", "AMD64"),
)}


def this_platform() -> Platform:
    """The platform of the running machine, or a ValueError naming what is unsupported."""
    machine = _platform.machine()
    for candidate in PLATFORMS.values():
        if sys.platform.startswith(candidate.sys_platform) and machine.lower() == candidate.platform_machine.lower():
            return candidate
    raise ValueError(f"LipAlign is not built for {sys.platform} on {machine}; supported: {', '.join(PLATFORMS)}")
