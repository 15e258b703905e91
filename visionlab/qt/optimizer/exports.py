"""The Optimizer Lab's exports: PNG of the view, GIF / MP4 of the race, CSV of the paths, and "Copy as Python".

A mixin of the OptimizerPanel (it uses the panel's surface, trajectories, config, tabs, jobs and message
line). Files are written off the GUI thread, atomically, and a path that cannot take them (a missing folder,
a wrong suffix) is refused in one line before anything is written: no folder is ever created for the user.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QPushButton, QVBoxLayout

from visionlab.core import atomic, paths
from visionlab.core.i18n import _
from visionlab.core.optimizer.export import export_problem, python_snippet, trajectories_csv
from visionlab.qt.optimizer.message_line import MessageLine


class ExportsMixin:
    """The export bar and its actions."""

    def _export_bar(self) -> QVBoxLayout:
        """The export buttons, and under them the message line across the whole centre column (beside the
        buttons it had ≈90 px at 1024×700: "SGD: left th…")."""
        bar = QHBoxLayout()
        asks = (("PNG", _("Save the view as PNG"), "optimizer.png", "PNG (*.png)", self.export_png),
                ("GIF / MP4", _("Save the race as an animation"), "race.gif",
                 "GIF (*.gif);;" + _("MP4 video (*.mp4)"), self.export_animation),
                ("CSV", _("Save the paths as CSV"), "race.csv", "CSV (*.csv)", self.export_csv))
        buttons = []
        for label, *ask in asks:
            buttons.append(QPushButton(label))
            buttons[-1].clicked.connect(lambda _checked=False, a=ask: self._ask(*a))
        buttons.append(QPushButton(_("Copy as Python")))
        buttons[-1].clicked.connect(self.copy_python)
        for button in buttons:  # as wide as their words
            button.setFixedWidth(button.fontMetrics().horizontalAdvance(button.text()) + 24)
            bar.addWidget(button)
        bar.addStretch(1)
        self.message = MessageLine()
        column = QVBoxLayout()
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addLayout(bar)
        column.addWidget(self.message)
        return column

    def _run_export(self, function, path: str, *args, suffixes: tuple[str, ...]) -> None:
        """One export at a time: a new one replaces (cancels) an export still running. A path that cannot
        take it (a missing folder, a wrong suffix) is refused in one line before anything is written."""
        problem = export_problem(path, suffixes)
        if problem:
            self.message.show_message(_("Export failed: {reason}.").format(reason=problem), error=True)
            return
        self.jobs.start("export", function, path, *args,
                        on_progress=lambda f, m: self.message.show_message(_("Exporting… {share:.0%}").format(share=f)),
                        on_done=lambda _result: self.message.show_message(_("Saved {path}").format(path=path)),
                        on_error=lambda msg: self.message.show_message(
                            _("Export failed: {reason}").format(reason=_plain(msg)), error=True))

    def _ask(self, title: str, default: str, filters: str, export) -> None:
        path = QFileDialog.getSaveFileName(self, title, str(paths.subdir("exports") / default), filters)[0]
        if path:
            export(path)

    def export_png(self, path: str) -> None:
        page = self.tabs.currentWidget()
        # The 3D view's labels are painted into OpenGL's frame: a widget grab would lose them.
        gl_image = page.grab_image() if page is self.view3d else None
        image = gl_image if gl_image is not None else page.grab().toImage()

        def save(target):
            if not image.save(target):
                raise OSError(_("could not write {path}").format(path=target))
        self._run_export(save, path, suffixes=(".png",))

    def export_csv(self, path: str) -> None:
        text = trajectories_csv(self.trajectories)
        self._run_export(atomic.write_text, path, text, suffixes=(".csv",))

    def export_animation(self, path: str) -> None:
        from visionlab.core.optimizer.render import export_animation  # OpenCV and Pillow load only when needed

        job = partial(export_animation, self.surface, list(self.trajectories))  # path comes third
        self._run_export(job, path, suffixes=(".gif", ".mp4"))

    def copy_python(self) -> str:
        try:
            code = python_snippet(self.surface, self.config.all_racers(), self.config.start, self.config.steps,
                                  seed=self.config.seed, noise=self.config.noise, noise_scale=self.config.noise_scale)
        except ValueError as exc:
            self.message.show_message(str(exc), error=True)
            return ""
        QGuiApplication.clipboard().setText(code)
        self.message.show_message(_("A runnable torch.optim script is on the clipboard."))
        return code


def _plain(error: str) -> str:
    """A worker's "OSError: [Errno 28] No space left on device: '/x'" as one line a student reads."""
    first = error.strip().splitlines()[0] if error.strip() else _("unknown error")
    name, _colon, rest = first.partition(": ")
    if rest and name.isidentifier() and name[0].isupper():
        first = rest
    return first.split("] ", 1)[-1] if first.startswith("[Errno") else first
