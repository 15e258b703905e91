"""Can Qt open a window here? A pure-Python check run before the QApplication exists.

Where it cannot, Qt aborts the process (exit 134, a core dump) with a hint that is often wrong: with no
display at all it blames `libxcb-cursor0`. `display_problem` says in one line what is wrong and what to do;
`run_gui` prints that line and exits with status 2.

No PySide6 module is imported here: the plugin folder is found with `importlib.util.find_spec`.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

# The shared libraries Qt's xcb plugin (libqxcb.so and the libQt6XcbQpa.so.6 it links) loads from the
# system, with the Debian/Ubuntu package that provides each (checked with `dpkg -S` / `apt-cache` on
# Debian 12; the names are the same on Ubuntu 22.04 and 24.04).
XCB_PACKAGES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
}

SCREENSHOT_HINT = "`visionlab screenshot --panel NAME --out FILE.png`"
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$", re.MULTILINE)


def platform_candidates(environ: Mapping[str, str]) -> list[str]:
    """The platform plugins Qt will try, in order (Qt's own rule on Linux, QGuiApplication's init_platform)."""
    chosen = environ.get("QT_QPA_PLATFORM", "")
    if chosen:
        return [part.split(":", 1)[0].strip() for part in chosen.split(";") if part.strip()]
    # PySide6's wheels are built with xcb as the default; a Wayland session puts wayland first.
    names = []
    if environ.get("WAYLAND_DISPLAY") or environ.get("XDG_SESSION_TYPE") == "wayland":
        names.append("wayland")
    names.append("xcb")
    return names


def _usable(name: str, environ: Mapping[str, str]) -> bool:
    """Whether this plugin has somewhere to show a window (libraries aside)."""
    if name == "xcb":
        return bool(environ.get("DISPLAY"))
    if name.startswith("wayland"):
        return bool(environ.get("WAYLAND_DISPLAY"))
    return True  # offscreen, minimal, vnc, eglfs, linuxfb ...: no display server involved


def xcb_plugin() -> Path | None:
    """PySide6's libqxcb.so, located without importing any Qt module."""
    try:
        spec = importlib.util.find_spec("PySide6")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        plugin = Path(folder) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.is_file():
            return plugin
    return None


def run_ldd(path: Path) -> str | None:
    """`ldd path` (it lists the libraries of libQt6XcbQpa too), or None where ldd cannot tell."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return None
    try:
        result = subprocess.run([ldd, str(path)], capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout


def missing_libraries(ldd_output: str) -> list[str]:
    """The sonames that `ldd` reports as "not found", each once, in ldd's order."""
    return list(dict.fromkeys(_NOT_FOUND.findall(ldd_output)))


def no_screen_message(variables: list[str]) -> str:
    unset = f"{variables[0]} is not set" if len(variables) == 1 else "neither DISPLAY nor WAYLAND_DISPLAY is set"
    over_ssh = " (or over `ssh -X`)" if "DISPLAY" in variables else ""
    return (f"visionlab: no screen to open a window on ({unset}, as in an SSH session): run it on a desktop"
            f"{over_ssh}, or render panels without a screen with {SCREENSHOT_HINT}")


def missing_libraries_message(missing: list[str]) -> str:
    packages = list(dict.fromkeys(XCB_PACKAGES[name] for name in missing if name in XCB_PACKAGES))
    unknown = [name for name in missing if name not in XCB_PACKAGES]
    text = f"visionlab: cannot open a window: Qt's xcb (X11) plugin needs system libraries that are missing " \
           f"({', '.join(missing)})"
    if packages:
        text += f"; on Debian/Ubuntu install them with: sudo apt install {' '.join(packages)}"
    if unknown:
        text += f"; {'also ' if packages else ''}install the package(s) providing {', '.join(unknown)}"
    return text


_DISPLAY = re.compile(r"^(?P<host>[^:]*):(?P<number>\d+)(\.\d+)?$")


def x_display_reachable(display: str, timeout_s: float = 1.0) -> bool:
    """Whether an X server answers at `display` (":0" → its Unix socket, "host:10" → TCP 6010, as ssh -X).

    A form we do not understand counts as reachable: only a display that surely does not answer is refused.
    """
    match = _DISPLAY.match(display)
    if match is None:
        return True
    host, number = match.group("host"), int(match.group("number"))
    try:
        if host in ("", "unix"):
            path = f"/tmp/.X11-unix/X{number}"
            for address in (path, "\0" + path):  # the file system socket, or Linux's abstract one
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                    client.settimeout(timeout_s)
                    try:
                        client.connect(address)
                        return True
                    except OSError:
                        continue
            return False
        with socket.create_connection((host, 6000 + number), timeout=timeout_s):
            return True
    except OSError:
        return False


def unreachable_display_message(display: str) -> str:
    return (f"visionlab: no X server answers at DISPLAY={display} (a closed session, or `ssh` without -X?): "
            f"run it on a desktop, or render panels without a screen with {SCREENSHOT_HINT}")


def display_problem(environ: Mapping[str, str] | None = None, system: str | None = None,
                    ldd_output: str | None = None,
                    reachable: Callable[[str], bool] = x_display_reachable) -> str | None:
    """One line saying why no window can open here and what to do, or None when nothing is wrong.

    `environ` defaults to os.environ, `system` to sys.platform; `ldd_output` stands in for running `ldd` on
    PySide6's xcb plugin (tests pass a made-up one), `reachable` for connecting to the X server. Only
    Linux is checked; anything unsure passes.
    """
    environ = os.environ if environ is None else environ
    system = sys.platform if system is None else system
    if not system.startswith("linux"):
        return None
    candidates = platform_candidates(environ)
    usable = [name for name in candidates if _usable(name, environ)]
    if not usable:
        variables = ["DISPLAY", "WAYLAND_DISPLAY"]  # Qt's default (QT_QPA_PLATFORM unset) takes either
        if environ.get("QT_QPA_PLATFORM"):
            variables = [var for var, plugin in zip(variables, ("xcb", "wayland"), strict=True)
                         if any(name.startswith(plugin) for name in candidates)]
        return no_screen_message(variables)
    if any(name != "xcb" for name in usable):
        return None  # offscreen, minimal, vnc ... need no display; Wayland's libraries are not checked here
    if ldd_output is None:
        plugin = xcb_plugin()
        ldd_output = (run_ldd(plugin) if plugin is not None else None) or ""  # no ldd: nothing known missing
    missing = missing_libraries(ldd_output)
    if missing:
        return missing_libraries_message(missing)
    display = environ.get("DISPLAY", "")
    return None if reachable(display) else unreachable_display_message(display)
