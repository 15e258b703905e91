"""Watching TensorBoard log folders written by any script (PyTorch, Lightning, Keras, VisionLab): runs
read live with TensorBoard's own reader, their tags mapped to the Training Monitor's roles, and repeats
grouped into mean ± std bands. No Qt: the Watch panel calls these from its worker thread."""

from visionlab.core.training.logs.groups import band, final_table, group_runs, run_finals
from visionlab.core.training.logs.reader import LogWatcher, Series, WatchedRun, WatchUpdate, load_logdir
from visionlab.core.training.logs.tags import ROLES, guess_roles, history, watched_diagnosis

__all__ = ["ROLES", "LogWatcher", "Series", "WatchUpdate", "WatchedRun", "band", "final_table", "group_runs",
           "guess_roles", "history", "load_logdir", "run_finals", "watched_diagnosis"]
