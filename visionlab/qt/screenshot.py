"""`visionlab screenshot`: renders a panel offscreen to a PNG, the way a user would see it."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from visionlab.qt.main_window import DEFAULT_SIZE

SMALL_SIZE = (1024, 700)
TIMEOUT_S = 120.0


def _ensure_app(language: str = "en"):
    # Offscreen unless the caller chose a platform (xvfb-run sets xcb for the 3D view).
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from visionlab.qt.app import create_application
    from visionlab.qt.common.language import apply_language, font_problem

    app = create_application()
    apply_language(language)
    problem = font_problem(language)
    if problem:
        print(f"warning: {problem}", file=sys.stderr)
    return app


def _scratch_window(panel_id: str, size: tuple[int, int]):
    """A main window with a throwaway settings file and data folder: screenshots must neither read nor change
    the user's settings, and the short run the training panel shows must not land in the user's run list."""
    from PySide6.QtCore import QSettings

    from visionlab.qt.main_window import MainWindow

    scratch = Path(tempfile.mkdtemp(prefix="visionlab-shot-"))
    os.environ["VISIONLAB_HOME"] = str(scratch / "data")
    settings_path = scratch / "settings.ini"
    window = MainWindow(settings=QSettings(str(settings_path), QSettings.Format.IniFormat), initial_panel=panel_id)
    window.resize(*size)
    window.show()
    return window


def _settle(app, seconds: float = 0.1) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def render_panel(panel_id: str, size: tuple[int, int], watch: str | None = None, tab: str | None = None,
                 language: str = "en"):
    """Open a main window on `panel_id`, wait until the panel says it is ready, and grab it as a QImage.

    `watch` (the Training panel only): its "Watched logs" tab watching that folder, grabbed once the
    first poll is drawn. `tab` (the Training panel only): "scenes" / "scenes-segment", the Detect & segment tab
    after its own short detection / segmentation run."""
    app = _ensure_app(language)
    window = _scratch_window(panel_id, size)
    deadline = time.monotonic() + TIMEOUT_S
    prepared = False
    while time.monotonic() < deadline:
        app.processEvents()
        panel = window.panel(panel_id)
        if panel is not None:
            if not prepared:
                if watch is not None:
                    panel.watch_folder(watch)
                elif tab is not None:
                    panel.prepare_tab_screenshot(tab)
                else:
                    panel.prepare_screenshot()
                prepared = True
            elif (panel.watch_view.drawn_snapshots if watch is not None else
                  panel.tab_screenshot_ready(tab) if tab is not None else panel.screenshot_ready()):
                break
        time.sleep(0.02)
    else:
        print(f"warning: panel '{panel_id}' was not ready after {TIMEOUT_S:.0f} s", file=sys.stderr)
    _settle(app)  # let the last repaints land
    image = window.grab().toImage()
    window.close()
    app.processEvents()
    return image


def render_lesson(lesson_id: str, size: tuple[int, int], language: str = "en"):
    """The lab in a lesson's state: its panel after "Open in the lab", the Lessons dock beside it with the
    lesson's texts, its checked claims and the highlight of "what to notice"."""
    from visionlab.core.lessons.registry import lesson

    chosen = lesson(lesson_id)
    app = _ensure_app(language)
    window = _scratch_window(chosen.panel, size)
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline and window.lessons_dock is None:
        app.processEvents()
        time.sleep(0.02)
    dock = window.lessons_dock
    if dock is None:
        print("warning: the lessons did not load", file=sys.stderr)
    else:
        dock.show()
        dock.show_lesson(lesson_id)
        dock.open_in_lab()
        while time.monotonic() < deadline:
            app.processEvents()
            panel = window.panel(chosen.panel)
            claims_done = chosen.claims is None or dock.claim_results(lesson_id) is not None
            # A panel may wait for less in a lesson than in its own screenshot (Training starts no run there).
            ready = panel is not None and getattr(panel, "lesson_screenshot_ready", panel.screenshot_ready)()
            if ready and claims_done and dock._pending_state is None:
                break
            time.sleep(0.02)
        else:
            print(f"warning: lesson '{lesson_id}' was not ready after {TIMEOUT_S:.0f} s", file=sys.stderr)
        _settle(app, 2.0)  # the state's own jobs (a race, a forward pass) draw their first results
        dock.point_at_notice()
    _settle(app)
    image = window.grab().toImage()
    window.close()
    app.processEvents()
    return image


def _save(image, out: str) -> int:
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(out)):
        print(f"error: could not write {out}", file=sys.stderr)
        return 1
    print(f"wrote {out} ({image.width()}x{image.height()})")
    return 0


def screenshot_lesson(lesson_id: str, out: str, size: tuple[int, int] | None = None, language: str = "en") -> int:
    from visionlab.core.lessons.registry import lesson

    try:
        lesson(lesson_id)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    return _save(render_lesson(lesson_id, size or DEFAULT_SIZE, language), out)


def screenshot_panel(panel_id: str, out: str, size: tuple[int, int] | None = None, watch: str | None = None,
                     tab: str | None = None, language: str = "en") -> int:
    from visionlab.qt.panel import available_panels

    if panel_id not in {info.panel_id for info in available_panels()}:
        print(f"error: the '{panel_id}' panel is not part of this build", file=sys.stderr)
        return 2
    if watch is not None and panel_id != "training":
        print("error: --watch shows a log folder on the training panel: use --panel training", file=sys.stderr)
        return 2
    if tab is not None and panel_id != "training":
        print("error: --tab shows a tab of the training panel: use --panel training", file=sys.stderr)
        return 2
    return _save(render_panel(panel_id, size or DEFAULT_SIZE, watch, tab, language), out)


def screenshot_all(folder: str, language: str = "en") -> int:
    from visionlab.qt.panel import available_panels

    status = 0
    for info in available_panels():
        for size, suffix in ((DEFAULT_SIZE, ""), (SMALL_SIZE, "-1024x700")):
            name = f"{info.panel_id}{suffix}{'' if language == 'en' else '-' + language}.png"
            status |= screenshot_panel(info.panel_id, str(Path(folder) / name), size, language=language)
    return status
