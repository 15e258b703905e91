"""Imports torch and torchvision off the GUI thread, after the window has been painted.

`import torch` takes about 3 s and torchvision another 2-5 s here: the window must not wait for them.
Panels that need torch are created when `loaded` arrives.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QThread, Signal

from visionlab.core.i18n import _

log = logging.getLogger(__name__)


def describe_device() -> str:
    """A short line for the status bar: which device inference and training will use."""
    import torch

    if torch.cuda.is_available():
        return f"CUDA: {torch.cuda.get_device_name(0)} (torch {torch.__version__})"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return f"Apple MPS (torch {torch.__version__})"
    return _("CPU, {threads} threads (torch {version})").format(threads=torch.get_num_threads(),
                                                                 version=torch.__version__)


class TorchLoader(QThread):
    loaded = Signal(str)
    failed = Signal(str)

    def run(self) -> None:
        try:
            import torch  # noqa: F401
            import torchvision  # noqa: F401

            self.loaded.emit(describe_device())
        except Exception as exc:  # a broken install is reported, not fatal
            log.exception("torch import failed")
            self.failed.emit(f"{type(exc).__name__}: {exc}")
