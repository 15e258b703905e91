"""The classroom-mirror setting of a weights bar: a "Mirror…" button that asks for the folder, checks it and
remembers it in the panel's settings. Feature Maps' model bar and the Live Camera's weights bar both use it,
so the two cannot drift apart in what they accept or say."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QInputDialog, QLineEdit, QPushButton

from visionlab.core.i18n import _
from visionlab.core.weights.card import WeightsError
from visionlab.core.weights.source import MIRROR_PROMPT, MIRROR_TITLE, check_mirror, download_source

SETTINGS_KEY = "weights_mirror"


class MirrorButton(QPushButton):
    changed = Signal(str)  # the mirror folder now used ("": torchvision's own server)

    def __init__(self, parent=None) -> None:
        super().__init__(_("Mirror…"), parent)
        self.mirror = ""
        self.clicked.connect(self.ask)
        self.set_mirror("")

    def set_mirror(self, mirror: str) -> None:
        """Use `mirror` for the next downloads ("" for torchvision's server); WeightsError if it cannot be one."""
        self.mirror = check_mirror(mirror)
        self.setToolTip(_("Downloads come {source}. Click to change.").format(source=download_source(self.mirror)))
        self.changed.emit(self.mirror)

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue(SETTINGS_KEY, self.mirror)

    def restore_settings(self, settings: QSettings) -> None:
        try:
            self.set_mirror(str(settings.value(SETTINGS_KEY, "") or ""))
        except WeightsError:  # a setting edited by hand: ignore it rather than refuse to start
            self.set_mirror("")

    def ask(self) -> None:
        """The dialog; a bad address is asked for again, with the reason on top (Cancel keeps the old one)."""
        prompt = _(MIRROR_PROMPT)
        while True:
            text, ok = QInputDialog.getText(self, _(MIRROR_TITLE), prompt, QLineEdit.EchoMode.Normal, self.mirror)
            if not ok:
                return
            try:
                self.set_mirror(text)
                return
            except WeightsError as exc:
                prompt = f"{exc}.\n\n{_(MIRROR_PROMPT)}"


class HasMirror:
    """For a bar that owns a `mirror_button`: the mirror it downloads from and its settings, in one place."""

    mirror_button: MirrorButton

    @property
    def mirror(self) -> str:
        return self.mirror_button.mirror

    def set_mirror(self, mirror: str) -> None:
        self.mirror_button.set_mirror(mirror)

    def save_settings(self, settings: QSettings) -> None:
        self.mirror_button.save_settings(settings)

    def restore_settings(self, settings: QSettings) -> None:
        self.mirror_button.restore_settings(settings)
