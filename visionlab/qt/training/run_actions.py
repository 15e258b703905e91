"""The Runs tab's actions on the Training panel: A/B variants, resume, delete, and the overlaid curves.

A mixin of `TrainingPanel` (it uses the panel's tabs, run list, curves, worker and `start_training`), kept
apart so the panel module holds the run's own life and this one what the saved runs are used for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visionlab.core.i18n import _
from visionlab.core.training import monitor

if TYPE_CHECKING:
    from visionlab.qt.training.panel import TrainingPanel


class RunActions:
    """The slots the run list's signals are connected to (see `TrainingPanel._build`)."""

    def start_ab(self: TrainingPanel, run: monitor.Run, setting: str, text: str) -> None:
        try:
            variant = monitor.ab_variant(run.config, setting, text)
        except (ValueError, KeyError) as exc:
            self._message(str(exc), error=True)
            return
        self.tabs.setCurrentIndex(0)
        self.start_training(variant, parent_run=run.run_id, change=f"{setting} = {text.strip()}")

    def resume_run(self: TrainingPanel, run: monitor.Run) -> None:
        if run.info.get("status") in ("finished", "early stopped"):
            status = run.info["status"]  # stored in English
            self._message(_("{run} is already {status}; nothing to resume.").format(run=run.run_id, status=_(status)),
                          error=True)
            return
        self.tabs.setCurrentIndex(0)
        self.start_training(run.config, resume=run)

    def _delete_run(self: TrainingPanel, run: monitor.Run) -> None:
        if self.worker is not None and self.worker.isRunning() and self.worker.run_record is not None \
                and self.worker.run_record.run_id == run.run_id:
            self._message(_("This run is training: stop it before deleting it."), error=True)
            return
        # Off the GUI thread: a run's folder holds checkpoints and event files (rmtree of many files can stall).
        self.run_list.jobs.start(f"delete {run.run_id}", monitor.delete_run, run,
                                 on_done=lambda _result: self._run_deleted(run),
                                 on_error=lambda text: self._message(
                                     _("Could not delete {run}: {reason}").format(run=run.run_id, reason=text),
                                     error=True))

    def _run_deleted(self: TrainingPanel, run: monitor.Run) -> None:
        self._message(_("Deleted {run}.").format(run=run.run_id))
        self.run_list.refresh()
        self._update_overlays()

    def _update_overlays(self: TrainingPanel) -> None:
        # Legend names: each run's name, or its number and what differs between the runs drawn together.
        runs = self.run_list.checked_runs()
        differing = monitor.varying_settings([run.config for run in runs])
        self.curves.set_overlays([(monitor.overlay_label(run, differing), run.metrics) for run in runs])
