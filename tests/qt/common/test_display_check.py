"""Where Qt cannot open a window, `visionlab` says why in one line and exits with 2 instead of Qt's abort."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from visionlab.qt.display_check import display_problem, missing_libraries

ROOT = Path(__file__).resolve().parents[3]

# What `ldd libqxcb.so` prints on a fresh desktop without libxcb-cursor0 (Qt >= 6.5 needs it).
LDD_WITHOUT_CURSOR = """\
\tlinux-vdso.so.1 (0x00007ffd3e7f6000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x00007f4f82e6d000)
\tlibxkbcommon-x11.so.0 => /lib/x86_64-linux-gnu/libxkbcommon-x11.so.0 (0x00007f4f82d8a000)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007f4f82d7b000)
\tlibxcb-cursor.so.0 => not found
\t/lib64/ld-linux-x86-64.so.2 (0x00007f4f82f3d000)
"""
LDD_ALL_FOUND = "\n".join(line for line in LDD_WITHOUT_CURSOR.splitlines() if "not found" not in line)
# Elsewhere the check passes and the subprocess would open a real window.
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the check runs on Linux only")


def run_visionlab(env: dict[str, str]) -> subprocess.CompletedProcess:
    """`python -m visionlab` with exactly `env` (the test process's QT_QPA_PLATFORM is not inherited)."""
    def no_core_file() -> None:  # should the check ever fail, Qt's abort must not leave a core file behind
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return subprocess.run([sys.executable, "-m", "visionlab"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60, preexec_fn=no_core_file)


def bare_env() -> dict[str, str]:
    """No DISPLAY, no WAYLAND_DISPLAY, no QT_QPA_PLATFORM: an SSH session."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "VISIONLAB_HOME", "SYSTEMROOT", "TMPDIR")
    return {name: os.environ[name] for name in keep if name in os.environ}


def assert_one_clean_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    for noise in ("core dumped", "Aborted", "Traceback", "qt.qpa"):
        assert noise not in result.stderr
    assert result.stdout == ""
    return lines[0]


@linux_only
def test_no_screen_gives_one_line_and_exit_code_2():
    line = assert_one_clean_line(run_visionlab(bare_env()))
    assert line.startswith("visionlab: no screen to open a window on")
    assert "neither DISPLAY nor WAYLAND_DISPLAY is set" in line
    assert "visionlab screenshot" in line


@linux_only
def test_missing_xcb_library_names_the_package_to_install(tmp_path):
    """End to end, with DISPLAY set: a fake `ldd` first on PATH reports libxcb-cursor.so.0 as missing."""
    fake_ldd = tmp_path / "ldd"
    fake_ldd.write_text(f"#!/bin/sh\ncat <<'EOF'\n{LDD_WITHOUT_CURSOR}EOF\n")
    fake_ldd.chmod(0o755)
    env = {**bare_env(), "DISPLAY": ":97"}
    env["PATH"] = f"{tmp_path}{os.pathsep}{env.get('PATH', '')}"
    line = assert_one_clean_line(run_visionlab(env))
    assert "libxcb-cursor.so.0" in line and "sudo apt install libxcb-cursor0" in line
    assert "icccm" not in line  # the fake ldd was asked, not the real one


def test_ldd_output_is_read_into_missing_sonames_and_packages():
    assert missing_libraries(LDD_WITHOUT_CURSOR) == ["libxcb-cursor.so.0"]
    assert missing_libraries(LDD_ALL_FOUND) == []
    x11 = {"DISPLAY": ":0"}
    message = display_problem(x11, "linux", ldd_output=LDD_WITHOUT_CURSOR)
    assert message is not None and "\n" not in message
    assert message.endswith("sudo apt install libxcb-cursor0")
    assert display_problem(x11, "linux", ldd_output=LDD_ALL_FOUND, reachable=lambda display: True) is None
    two_missing = "\tlibxcb-icccm.so.4 => not found\n\tlibxkbcommon-x11.so.0 => not found\n\tlibfoo.so.3 => not found\n"
    message = display_problem({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, "linux", ldd_output=two_missing)
    assert "sudo apt install libxcb-icccm4 libxkbcommon-x11-0;" in message and "libfoo.so.3" in message


def test_platforms_without_a_display_pass_untouched():
    for platform in ("offscreen", "minimal", "vnc", "eglfs", "offscreen:configfile=/x.json", "xcb;offscreen"):
        assert display_problem({"QT_QPA_PLATFORM": platform}, "linux", ldd_output=LDD_WITHOUT_CURSOR) is None
    for system in ("win32", "darwin"):
        assert display_problem({}, system, ldd_output=LDD_WITHOUT_CURSOR) is None
    # this test process runs offscreen (tests/conftest.py): the real environment passes as it is
    if os.environ.get("QT_QPA_PLATFORM", "").startswith("offscreen"):
        assert display_problem() is None


def test_which_display_is_asked_for():
    assert "neither DISPLAY nor WAYLAND_DISPLAY is set" in display_problem({}, "linux")
    assert "(DISPLAY is not set" in display_problem({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "w-0"}, "linux")
    assert "(WAYLAND_DISPLAY is not set" in display_problem({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, "linux")
    # Wayland first (its socket is there): xcb's libraries do not matter, Qt takes Wayland
    wayland = {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}
    assert display_problem(wayland, "linux", ldd_output=LDD_WITHOUT_CURSOR) is None
    # ... but with no WAYLAND_DISPLAY, Qt's default is xcb alone
    assert display_problem({"DISPLAY": ":0"}, "linux", ldd_output=LDD_WITHOUT_CURSOR) is not None


def test_a_display_that_does_not_answer_is_named_instead_of_an_abort(tmp_path):
    import socket
    import threading

    x11 = {"DISPLAY": "localhost:57", "QT_QPA_PLATFORM": "xcb"}  # TCP 6057: nothing listens there
    message = display_problem(x11, "linux", ldd_output=LDD_ALL_FOUND)
    assert message is not None and "DISPLAY=localhost:57" in message and "screenshot" in message
    # A listening X-like server at that display number is accepted.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    number = server.getsockname()[1] - 6000
    def answer() -> None:
        try:
            server.accept()[0].close()
        except OSError:  # the test closed the server first
            pass

    threading.Thread(target=answer, daemon=True).start()
    try:
        if number >= 0:
            assert display_problem({"DISPLAY": f"127.0.0.1:{number}", "QT_QPA_PLATFORM": "xcb"}, "linux",
                                   ldd_output=LDD_ALL_FOUND) is None
    finally:
        server.close()
