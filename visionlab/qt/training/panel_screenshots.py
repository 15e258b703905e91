"""The Training panel's `visionlab screenshot` hooks: a short run held mid-way, or the "Detect & segment" tab.

A mixin of `TrainingPanel` (it uses the panel's controls, tabs, curves, worker and `start_training`), kept
apart so the panel module holds the run's own life and this one how the pictures of it are set up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visionlab.core.training import monitor

if TYPE_CHECKING:
    from visionlab.qt.training.panel import TrainingPanel


class PanelScreenshots:
    """The Panel contract's screenshot methods (see `visionlab.qt.panel.Panel`)."""

    def prepare_screenshot(self: TrainingPanel) -> None:
        self.tabs.setCurrentIndex(0)
        # A small MLP with dropout on digits: curves move visibly for several epochs, with a gap to shade.
        model = monitor.ModelSpec("MLP", width=16, depth=2, batch_norm=False, dropout=0.3)
        self.controls.set_config(monitor.TrainConfig(dataset="digits", epochs=24, optimizer="SGD", batch_size=32,
                                                     schedule="one-cycle", optimizer_params={"lr": 0.05},
                                                     early_stopping=True, patience=6, model=model))
        self.start_training()

    def prepare_tab_screenshot(self: TrainingPanel, tab: str) -> None:
        """`visionlab screenshot --panel training --tab scenes|scenes-segment`: the "Detect & segment" tab after
        a short detection (or segmentation) run."""
        self.tabs.setCurrentWidget(self.scenes_page)
        self.scenes_view.prepare_screenshot("segment" if tab == "scenes-segment" else "detect")

    def tab_screenshot_ready(self: TrainingPanel, tab: str) -> bool:
        return self.scenes_view.screenshot_ready()

    def screenshot_ready(self: TrainingPanel) -> bool:
        finished = self.worker is not None and self.worker.isFinished()
        if len(self.epoch_history) >= 8 and self.worker is not None and not self.worker.paused:
            self.toggle_pause()  # hold the run mid-way while the picture is taken
        return (len(self.epoch_history) >= 8 or finished) and self.curves.up_to_date()

    def lesson_screenshot_ready(self: TrainingPanel) -> bool:
        """A lesson only fills the controls (the student presses Start): nothing to wait for but the curves."""
        return self.curves.up_to_date()
