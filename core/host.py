"""The DaVinci Resolve installed on this machine, and the Python 3 it runs menu scripts with.

Standard library only: the installer imports this module before LipAlign's environment exists. Nothing here
talks to a running Resolve; everything is read from the files and settings Blackmagic's installers leave, so
it works with Resolve closed (and when it will not start). Each rule below names the evidence it rests on.

``$LIPALIGN_RESOLVE_DIR`` replaces the default installation folder: on macOS the ``.app`` bundle or the folder
holding it, on Windows the folder of ``Resolve.exe``, on Linux the folder laid out like ``/opt/resolve``.
"""

from __future__ import annotations

import os
import plistlib
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from core.locations import machine_path, platform_family
from core.version import MANIFEST

__all__ = ["EDITIONS", "FREE", "STUDIO", "PythonForScripts", "ResolveInstall", "find_resolve", "menu_script_minimum",
           "menu_script_python", "version_tuple"]

STUDIO, FREE = "DaVinci Resolve Studio", "DaVinci Resolve"
EDITIONS = (STUDIO, FREE)
RESOLVE_DIR_ENV = "LIPALIGN_RESOLVE_DIR"
PROBE_TIMEOUT_S = 10.0
_BUNDLED = "Resolve's bundled ResolvePython"

# macOS: Blackmagic's own installer puts free and Studio at the same path, under the same app name (autopkg
# timsutton-recipes issue #33, "They went the route of naming the application the same exact way"; Installomator's
# davinciresolvestudio label installs "DaVinci Resolve/DaVinci Resolve.app"). The Mac App Store's Studio is
# "/Applications/DaVinci Resolve Studio.app" (Blackmagic's scripting README, "For DaVinci Resolve installed via the
# Apple App Store"); the App Store's free edition is the flat "/Applications/DaVinci Resolve.app".
_MAC_BUNDLES = ("/Applications/DaVinci Resolve/DaVinci Resolve.app", "/Applications/DaVinci Resolve Studio.app",
                "/Applications/DaVinci Resolve.app")
_MAC_BUNDLE_NAMES = ("DaVinci Resolve.app", "DaVinci Resolve Studio.app")
_WINDOWS_RESOLVE_KEY = r"SOFTWARE\Blackmagic Design\DaVinci Resolve"
_LINUX_FOLDER = "/opt/resolve"

# The ReadMe.html every Resolve installer ships: "<title>DaVinci Resolve 19.1.3" and, in Studio's, the heading
# "About DaVinci Resolve Studio 19" (ynput/ayon-resolve hooks/pre_resolve_check_version.py, which reads it because
# "Resolve -v" output "cannot be reliably captured").
_README_TITLE = re.compile(r"<title>\s*DaVinci Resolve(?:\s+Studio)?\s+(\d+\.\d[\d.]*)", re.IGNORECASE)
_README_ANY = re.compile(r"\bDaVinci Resolve(?:\s+Studio)?\s+(\d+\.\d[\d.]*)")
_ABOUT_STUDIO = re.compile(r"About DaVinci Resolve\s+Studio\s+\d", re.IGNORECASE)
_ABOUT_FREE = re.compile(r"About DaVinci Resolve\s+\d", re.IGNORECASE)


@dataclass(frozen=True)
class ResolveInstall:
    """One DaVinci Resolve installation.

    Attributes
    ----------
    folder : Path
        The ``.app`` bundle on macOS, the installation folder elsewhere.
    version : str or None
        As the installation states it (``"19.1.3"``; Windows' registry gives ``"21.0.30007"`` for 21.0.3 build 7);
        None when nothing readable states it.
    edition : str or None
        ``"DaVinci Resolve Studio"`` or ``"DaVinci Resolve"``; None when the files do not tell.
    source : str
        Where the version and edition were read, for the support person.
    """

    folder: Path
    version: str | None
    edition: str | None
    source: str

    @property
    def label(self) -> str:
        """``"DaVinci Resolve Studio 19.1.3"``, with "edition unknown" or "version unknown" where not known."""
        return f"{self.edition or 'DaVinci Resolve (edition unknown)'} {self.version or '(version unknown)'}"


@dataclass(frozen=True)
class PythonForScripts:
    """The Python 3 Resolve would run a ``.py`` menu script with.

    Attributes
    ----------
    path : Path or None
        The interpreter (or, for Resolve's bundled Python without one, its folder); None when none was found.
    version : str or None
        ``"3.11.4"`` as the interpreter printed it; None when it was not run or did not answer.
    usable : bool
        The version meets the manifest's ``python.menu_script_requires`` and the interpreter is 64-bit.
    reason : str
        Why it is or is not usable, one sentence.
    source : str
        How Resolve finds it (``"PYTHON3HOME"``, ``"/usr/local/bin/python3"``...), or where was looked.
    """

    path: Path | None
    version: str | None
    usable: bool
    reason: str
    source: str


def version_tuple(text: str | None) -> tuple[int, ...]:
    """The leading numbers of a version string (``"19.1.3b2"`` -> ``(19, 1, 3)``); ``()`` for None or no number."""
    match = re.match(r"\d+(?:\.\d+)*", (text or "").strip())
    return tuple(int(part) for part in match.group(0).split(".")) if match else ()


def menu_script_minimum() -> tuple[int, int]:
    """The oldest Python a menu script supports, from the manifest's ``python.menu_script_requires`` (``">=3.6"``)."""
    requirement = MANIFEST["python"]["menu_script_requires"]
    match = re.fullmatch(r">=\s*(\d+)\.(\d+)", requirement.strip())
    if match is None:
        raise ValueError(f"manifest python.menu_script_requires {requirement!r} is not of the form '>=X.Y'")
    return int(match.group(1)), int(match.group(2))


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _readme_facts(readmes: list[Path]) -> tuple[str | None, str | None, Path | None]:
    """Version, edition and the file they came from, from the first readable ReadMe.html of ``readmes``."""
    for readme in readmes:
        text = _read_text(readme)
        if text is None:
            continue
        match = _README_TITLE.search(text) or _README_ANY.search(text)
        version = match.group(1).rstrip(".") if match else None
        # Judged by the "About" heading alone, as AYON does: the body of either ReadMe may mention Studio.
        edition = STUDIO if _ABOUT_STUDIO.search(text) else FREE if _ABOUT_FREE.search(text) else None
        return version, edition, readme
    return None, None, None


def _combine(folder: Path, version: str | None, edition: str | None, sources: list[str],
             readmes: list[Path]) -> ResolveInstall:
    """Fill what the platform's own records left unknown from the ReadMe, and say where each fact came from."""
    if version is None or edition is None:
        readme_version, readme_edition, readme = _readme_facts(readmes)
        if (readme_version and version is None) or (readme_edition and edition is None):
            sources.append(str(readme))
        version = version or readme_version
        edition = edition or readme_edition
    return ResolveInstall(folder, version, edition, "; ".join(sources) or "no version or edition records found")


def _mac_install(bundle: Path) -> ResolveInstall | None:
    """A macOS bundle: version from Info.plist's ``CFBundleShortVersionString`` (what autopkg, Installomator and
    Resolve-side tools read); Studio when the bundle, its ``CFBundleName`` or its identifier says Studio (the App
    Store's "DaVinci Resolve Studio.app"; com.blackmagic-design.DaVinciResolveStudio, which tools list beside
    com.blackmagic-design.DaVinciResolve); otherwise the ReadMe.html in
    ``Contents/Documents`` decides, because Blackmagic's installer names both editions alike."""
    plist_path = bundle / "Contents" / "Info.plist"
    try:
        with plist_path.open("rb") as handle:
            info = plistlib.load(handle)
    except (OSError, plistlib.InvalidFileException, ValueError):
        return None
    version = info.get("CFBundleShortVersionString")
    version = str(version) if version else None
    names = (bundle.name, str(info.get("CFBundleName", "")), str(info.get("CFBundleIdentifier", "")))
    edition = STUDIO if any("studio" in name.lower() for name in names) else None
    sources = [str(plist_path)] if version or edition else []
    return _combine(bundle, version, edition, sources, [bundle / "Contents" / "Documents" / "ReadMe.html"])


def _find_mac(root: Path | None) -> ResolveInstall | None:
    override = os.environ.get(RESOLVE_DIR_ENV)
    if override:
        folder = Path(override)
        bundles = [folder] if folder.suffix == ".app" else [folder / name for name in _MAC_BUNDLE_NAMES]
    else:
        bundles = [machine_path(path, root) for path in _MAC_BUNDLES]
    for bundle in bundles:
        found = _mac_install(bundle)
        if found is not None:
            return found
    return None


def _windows_registry_version() -> str | None:
    """``HKLM\\SOFTWARE\\Blackmagic Design\\DaVinci Resolve`` value ``Version``, which Blackmagic's installer writes
    (read by several Resolve tools' installers, e.g. ``"21.0.30007"`` for 21.0.3 build 7); None off Windows."""
    if sys.platform != "win32":
        return None
    import winreg  # Windows only

    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, _WINDOWS_RESOLVE_KEY) as key:
            value, _ = winreg.QueryValueEx(key, "Version")
    except OSError:
        return None
    return str(value).strip() or None


def _find_windows(root: Path | None) -> ResolveInstall | None:
    """``Resolve.exe`` in the installer's default folder (where proxima, OpenPype and Blackmagic's scripting README
    look); the version from ``Documents/ReadMe.html`` beside it, else the registry (only for the default install: an
    override folder is not what the registry describes). Free and Studio reportedly share the executable and the
    MSI product name, so only the ReadMe tells the edition."""
    override = os.environ.get(RESOLVE_DIR_ENV)
    program_files = Path(os.environ.get("PROGRAMFILES") or "C:/Program Files")
    folder = Path(override) if override else \
        machine_path(program_files / "Blackmagic Design" / "DaVinci Resolve", root)
    if not (folder / "Resolve.exe").is_file():
        return None
    readmes = [folder / "Documents" / "ReadMe.html"]
    found = _combine(folder, None, None, [], readmes)
    if found.version is None and not override:
        version = _windows_registry_version()
        if version:
            source = f"HKLM\\{_WINDOWS_RESOLVE_KEY} Version" + (f"; {found.source}" if found.edition else "")
            return ResolveInstall(folder, version, found.edition, source)
    return found


def _find_linux(root: Path | None) -> ResolveInstall | None:
    """``bin/resolve`` under ``/opt/resolve``; version and edition from ReadMe.html (``Documents/`` per AYON, ``docs/``
    in the packages Blackmagic's .run installer lays out: TurtleEngr/davinci-installer, users' 20.x and 21.x
    reports), else the version from ``docs/Welcome.txt`` ("DaVinci Resolve 19.1", read by davinci-helper)."""
    override = os.environ.get(RESOLVE_DIR_ENV)
    folder = Path(override) if override else machine_path(_LINUX_FOLDER, root)
    if not (folder / "bin" / "resolve").is_file():
        return None
    found = _combine(folder, None, None, [], [folder / "Documents" / "ReadMe.html", folder / "docs" / "ReadMe.html"])
    if found.version is None:
        welcome = folder / "docs" / "Welcome.txt"
        match = _README_ANY.search(_read_text(welcome) or "")
        if match:
            source = str(welcome) + (f"; {found.source}" if found.edition else "")
            return ResolveInstall(folder, match.group(1).rstrip("."), found.edition, source)
    return found


def find_resolve(platform: str | None = None, root: Path | None = None) -> ResolveInstall | None:
    """Where DaVinci Resolve is installed, its version and edition; None when it is not installed.

    Parameters
    ----------
    platform : str, optional
        A ``sys.platform`` value; default this machine's. The registry is read only on Windows itself.
    root : Path, optional
        Re-roots the default machine-wide folders (see :func:`core.locations.machine_path`), for tests and staging.
        ``$LIPALIGN_RESOLVE_DIR`` overrides the folder altogether.
    """
    family = platform_family(platform)
    if family == "macos":
        return _find_mac(root)
    if family == "windows":
        return _find_windows(root)
    return _find_linux(root)


# Prints major, minor, micro and pointer bits; valid Python 2 too, so an old interpreter still answers.
_PROBE = "import sys, struct; print('%d %d %d %d' % (sys.version_info[:3] + (struct.calcsize('P') * 8,)))"


def _probe(path: Path, source: str) -> PythonForScripts:
    """Run ``path`` to learn its version and word size, and judge it against the manifest's minimum."""
    try:
        done = subprocess.run([str(path), "-c", _PROBE], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return PythonForScripts(path, None, False, f"{path} does not run ({exc})", source)
    numbers = done.stdout.split()
    if done.returncode != 0 or len(numbers) != 4 or not all(n.isdigit() for n in numbers):
        why = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return PythonForScripts(path, None, False, f"{path} does not answer as a Python ({why})", source)
    major, minor, micro, bits = map(int, numbers)
    version = f"{major}.{minor}.{micro}"
    minimum = menu_script_minimum()
    if (major, minor) < minimum:
        return PythonForScripts(path, version, False, f"Python {version} is older than "
                                f"{minimum[0]}.{minimum[1]}, the oldest Resolve runs menu scripts with", source)
    if bits != 64:
        return PythonForScripts(path, version, False, f"Python {version} is {bits}-bit; Resolve needs 64-bit",
                                source)
    return PythonForScripts(path, version, True, f"Python {version}, 64-bit", source)


def _launchctl_python3home() -> str | None:
    """PYTHON3HOME as launchd gives it to apps started from the Dock or Finder (a shell ``export`` never reaches
    them: resolve-api.md section 2); None off macOS or when unset."""
    if sys.platform != "darwin":
        return None
    try:
        done = subprocess.run(["launchctl", "getenv", "PYTHON3HOME"], capture_output=True, text=True,
                              timeout=PROBE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def _mac_candidates(root: Path | None) -> list[tuple[Path, str]]:
    """PYTHON3HOME, then /usr/local/bin/python3, and nothing else (strings of fusionscript.so, measured by
    davinci-resolve-mcp; resolve-api.md section 2)."""
    candidates = []
    launchd_home = _launchctl_python3home()
    if launchd_home:
        candidates.append((Path(launchd_home) / "bin" / "python3", "PYTHON3HOME (launchctl)"))
    elif os.environ.get("PYTHON3HOME"):
        candidates.append((Path(os.environ["PYTHON3HOME"]) / "bin" / "python3",
                           "PYTHON3HOME of this shell (a Resolve started from the Dock does not see it)"))
    candidates.append((machine_path("/usr/local/bin/python3", root), "/usr/local/bin/python3"))
    return candidates


def _windows_registry_pythons() -> list[tuple[Path, str]]:
    """Interpreters registered under ``HKCU`` and ``HKLM\\SOFTWARE\\Python\\PythonCore`` (PEP 514), newest first;
    empty off Windows."""
    if sys.platform != "win32":
        return []
    import winreg  # Windows only

    found = []
    for hive, hive_name in ((winreg.HKEY_CURRENT_USER, "HKCU"), (winreg.HKEY_LOCAL_MACHINE, "HKLM")):
        try:
            core = winreg.OpenKey(hive, r"SOFTWARE\Python\PythonCore")
        except OSError:
            continue
        with core:
            for index in range(winreg.QueryInfoKey(core)[0]):
                tag = winreg.EnumKey(core, index)
                try:
                    with winreg.OpenKey(core, tag + r"\InstallPath") as install:
                        try:
                            executable = winreg.QueryValueEx(install, "ExecutablePath")[0]
                        except OSError:  # PEP 514: older installers write only the folder
                            executable = str(Path(winreg.QueryValueEx(install, "")[0]) / "python.exe")
                except OSError:
                    continue
                found.append((version_tuple(tag), Path(executable), f"{hive_name} PythonCore {tag}"))
    found.sort(key=lambda item: item[0], reverse=True)
    return [(path, source) for _, path, source in found]


def _windows_candidates() -> list[tuple[Path, str]]:
    """FUSION_PYTHON3_HOME, then the registry's PythonCore keys (reported, Tooflex/davinci-resolve-mcp PR #4;
    resolve-api.md section 2). Which of several registered Pythons fusionscript.dll takes is not documented, so
    the newest is tried first."""
    candidates = []
    if os.environ.get("FUSION_PYTHON3_HOME"):
        candidates.append((Path(os.environ["FUSION_PYTHON3_HOME"]) / "python.exe", "FUSION_PYTHON3_HOME"))
    return candidates + _windows_registry_pythons()


def _linux_candidates(root: Path | None) -> list[tuple[Path, str]]:
    """Resolve 21.x's own ``ResolvePython`` (reported, samuelgursky/davinci-resolve-mcp issue #203), else the system
    python3 a desktop session finds (``/usr/bin``, then ``/usr/local/bin``; not this shell's PATH, which may lead
    into a virtual environment Resolve never sees)."""
    override = os.environ.get(RESOLVE_DIR_ENV)
    bundled = (Path(override) if override else machine_path(_LINUX_FOLDER, root)) / "ResolvePython"
    candidates = []
    if bundled.is_dir():
        executables = sorted(bundled.glob("bin/python3*"), key=lambda p: (len(p.name), p.name))
        candidates.append((executables[0] if executables else bundled, _BUNDLED))
    candidates += [(machine_path(path, root), "system python3") for path in ("/usr/bin/python3",
                                                                          "/usr/local/bin/python3")]
    return candidates


def menu_script_python(platform: str | None = None, root: Path | None = None) -> PythonForScripts:
    """The Python 3 Resolve will use to run a ``.py`` menu script, run once to learn its version.

    The first candidate that exists is what Resolve takes (so it decides, usable or not); on Windows, where the
    choice among registered Pythons is undocumented, the first usable one is preferred. A bundled ``ResolvePython``
    without an interpreter to run is taken as usable: Resolve brought it for exactly this.

    Parameters
    ----------
    platform : str, optional
        A ``sys.platform`` value; default this machine's. launchctl and the registry are asked only on their own
        platform.
    root : Path, optional
        Re-roots the fixed machine-wide paths (``/usr/local/bin/python3``, ``/opt/resolve``), for tests.

    Returns
    -------
    PythonForScripts
        ``path`` None and ``usable`` False, with the places looked at, when there is none.
    """
    family = platform_family(platform)
    if family == "macos":
        candidates = _mac_candidates(root)
    elif family == "windows":
        candidates = _windows_candidates()
    else:
        candidates = _linux_candidates(root)
    first: PythonForScripts | None = None
    for path, source in candidates:
        if source == _BUNDLED and path.is_dir():  # no interpreter in it to run
            return PythonForScripts(path, None, True, "Resolve's own Python (no interpreter in it to run)", source)
        if not path.is_file():
            continue
        probed = _probe(path, source)
        if probed.usable or family != "windows":
            return probed
        first = first or probed
    if first is not None:
        return first
    looked = ", ".join(f"{path} ({source})" for path, source in candidates) or "FUSION_PYTHON3_HOME and the registry"
    return PythonForScripts(None, None, False, "no Python 3 found", looked)
