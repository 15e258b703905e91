"""Groups of watched runs (seed repeats, k folds) drawn as a mean line with a ± std band, and their table.

The numbers come from core (`group_runs`, `band`, `final_table`, computed in the watch worker); this
module only draws them. Standard deviations are population ones (ddof=0) and the caption says so. A group
of one run has no spread: its own validation curve is drawn, without a band.

Drawing is the GUI thread's work, so it is kept small: nothing is drawn while the tab is hidden (the newest
snapshot waits and is drawn when the tab is shown), a live folder redraws at most once every MIN_REDRAW_S,
curves of an unchanged grouping get new data in place instead of new items, and the plots hold the first
MAX_PLOTTED_GROUPS groups (a legend of 200 colours says nothing; the table lists every group).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QTableWidget, QTableWidgetItem, QWidget

from visionlab.core.i18n import N_, _
from visionlab.qt.common.layouts import column_layout
from visionlab.qt.common.theme import StatusLine

# The combo's English text (shown translated) → the grouping core's group_runs takes.
GROUP_BY = {N_("none"): "none", N_("name pattern"): "pattern", N_("hyperparameters"): "hparams"}
PLOTS = (("val_loss", N_("validation loss")), ("val_acc", N_("validation accuracy")))
TABLE_COLUMNS = (("val_loss", N_("final val loss")), ("val_acc", N_("final val acc")),
                 ("train_loss", N_("final train loss")), ("train_acc", N_("final train acc")),
                 ("best_val_loss", N_("best val loss")))
MAX_PLOTTED_GROUPS = 12
MIN_REDRAW_S = 1.0
PATTERN_HINTS = {"none": N_("each run is its own group"),
                 "pattern": N_(r"a regex, e.g. _seed\d+$ (removed from the name) or ^(lr[\d.]+) (names the group)"),
                 "hparams": N_("hyperparameters to ignore besides seed and fold, e.g. lr, batch_size")}


def mean_std_text(mean: float, std: float, runs: int, percent: bool) -> str:
    if not math.isfinite(mean):
        return "–"
    scale, unit, digits = (100.0, " %", 1) if percent else (1.0, "", 3)
    if runs < 2:
        return f"{mean * scale:.{digits}f}{unit}"
    return f"{mean * scale:.{digits}f} ± {std * scale:.{digits}f}{unit}"


def caption_text(groups: dict[str, list[str]], bands: dict[str, dict[str, tuple]], plotted: int | None = None) -> str:
    """What the band plot shows, from the groups drawn: how many runs each mean and std is over."""
    if not groups:
        return _("No runs shown: tick runs in the list.")
    first = _("The plots show the first {plotted} of {count} groups; the table lists them all.").format(
        plotted=plotted, count=len(groups)) + " " if plotted is not None and plotted < len(groups) else ""
    singles = sum(len(names) < 2 for names in groups.values())
    sizes = sorted({len(names) for names in groups.values() if len(names) >= 2})  # the groups that have a band
    if not sizes:
        return first + _("{count} group(s) of one run each: each run's own validation curve, no band (group by a "
                         "name pattern or by hyperparameters to see mean ± std).").format(count=len(groups))
    over = f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]}–{sizes[-1]}"
    fewer = any(len(b[2]) and int(b[3].min()) < len(groups[g]) for g, keys in bands.items() for b in keys.values())
    tail = _("; fewer where a run has not reached that epoch yet") if fewer else ""
    single_text = _("; {count} group(s) of one run: its own curve (if it has validation points), no band").format(
        count=singles) if singles else ""
    return first + _("{count} group(s): line = mean, band = mean ± std (population, ddof=0) over {over} runs").format(
        count=len(groups), over=over) + f"{tail}{single_text}."


def shared_x_label(histories: list[dict]) -> str:
    """The x axis of the runs drawn: "epoch" unless every run with validation points counts them instead."""
    labels = {h.get("x_label", "epoch") for h in histories if h.get("epochs")}
    return labels.pop() if len(labels) == 1 else "epoch"


class GroupsView(QWidget):
    grouping_changed = Signal(str, str)  # by ("none" | "pattern" | "hparams"), pattern

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = column_layout(self, 2)
        row = QHBoxLayout()
        self.by_combo = QComboBox()
        for text in GROUP_BY:  # English text as data: the test and `grouping` read it
            self.by_combo.addItem(_(text), text)
        self.pattern_edit = QLineEdit()
        self.pattern_edit.setToolTip(_("name pattern: a regular expression. hyperparameters: names to ignore "
                                       "besides seed and fold, comma-separated."))
        row.addWidget(QLabel(_("Group by:")))
        row.addWidget(self.by_combo)
        row.addWidget(self.pattern_edit, 1)
        layout.addLayout(row)
        self.pattern_error = StatusLine(lines=1)
        layout.addWidget(self.pattern_error)
        self.by_combo.currentTextChanged.connect(lambda _text: self._emit())
        self._show_hint()
        self.pattern_edit.textChanged.connect(lambda _text: self._emit())
        self.plots_widget = pg.GraphicsLayoutWidget()
        self.plots_widget.setBackground("w")
        self.plots: dict[str, pg.PlotItem] = {}
        for col, (key, title) in enumerate(PLOTS):
            plot = self.plots_widget.addPlot(row=0, col=col, title=_(title))
            plot.setLabel("bottom", _("epoch"))
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
            plot.addLegend(offset=(-4, 4) if key == "val_loss" else (-4, -4), labelTextSize="7pt",
                           brush=(255, 255, 255, 210))
            self.plots[key] = plot
        layout.addWidget(self.plots_widget, 3)
        self.caption = StatusLine(lines=2)
        layout.addWidget(self.caption)
        self.table = QTableWidget(0, 2 + len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels([_("group"), _("runs"), *(_(title) for _key, title in TABLE_COLUMNS)])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.table, 2)
        self.items: dict[str, list] = {}  # group -> the curves and fills drawn for it (tests read their data)
        self._curves_by_key: dict[tuple[str, str], list] = {}  # (group, plot) -> [line, upper, lower] or [line]
        self._signature: tuple = ()
        self.drawn_revision = -1
        self._pending = None  # the newest snapshot, drawn when the tab is visible
        self._drawn_at = 0.0
        self._later = QTimer(self, singleShot=True)
        self._later.timeout.connect(self._draw_pending)

    def grouping(self) -> tuple[str, str]:
        return GROUP_BY[self.by_combo.currentData()], self.pattern_edit.text()

    def _emit(self) -> None:
        self._show_hint()
        self.grouping_changed.emit(*self.grouping())

    def _show_hint(self) -> None:
        by = self.grouping()[0]
        self.pattern_edit.setPlaceholderText(_(PATTERN_HINTS[by]))
        self.pattern_edit.setEnabled(by != "none")

    def show_groups(self, snapshot) -> None:
        """Take a WatchSnapshot's groups, bands and table; drawn now, later (throttled) or when shown."""
        if snapshot.groups_revision == self.drawn_revision:
            return
        self._pending = snapshot
        if not self.isVisible():
            return
        wait = MIN_REDRAW_S - (time.monotonic() - self._drawn_at)
        if wait <= 0:
            self._draw_pending()
        elif not self._later.isActive():
            self._later.start(int(wait * 1000) + 1)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._draw_pending()

    def _draw_pending(self) -> None:
        snapshot, self._pending = self._pending, None
        if snapshot is None or snapshot.groups_revision == self.drawn_revision:
            return
        self._later.stop()
        self.drawn_revision = snapshot.groups_revision
        self._drawn_at = time.monotonic()
        self.pattern_error.show_message(snapshot.group_error or "", error=bool(snapshot.group_error))
        x_label = shared_x_label([snapshot.histories[n] for names in snapshot.groups.values() for n in names
                                  if n in snapshot.histories])
        plotted = {group: names for group, names in list(snapshot.groups.items())[:MAX_PLOTTED_GROUPS]}
        series = {(group, key): self._series(snapshot, group, names, key) for group, names in plotted.items()
                  for key in self.plots}
        # The legend names each group and its run count: a change in either needs new items.
        signature = (x_label, tuple((g, k, kind, len(plotted[g])) for (g, k), (kind, *_r) in series.items()))
        if signature == self._signature:
            for (group, key), (_kind, x, ys) in series.items():  # same curves, new points
                for curve, y in zip(self._curves_by_key.get((group, key), []), ys, strict=False):
                    curve.setData(x, y)
        else:
            self._rebuild(snapshot, plotted, series, x_label)
            self._signature = signature
        self.caption.show_message(caption_text(snapshot.groups, snapshot.bands, len(plotted)))
        self._fill_table(snapshot.table)

    @staticmethod
    def _series(snapshot, group: str, names: list[str], key: str) -> tuple[str, np.ndarray, list[np.ndarray]]:
        """("band", x, [mean, mean + std, mean - std]), ("single", x, [values]) or ("none", [], [])."""
        if group in snapshot.bands:
            x, mean, std, _count = snapshot.bands[group][key]
            return ("band", x, [mean, mean + std, mean - std]) if len(x) else ("none", x, [])
        rows = snapshot.histories.get(names[0], {}).get("epochs") if names else None
        if rows:  # one run: its own curve
            return "single", np.array([r["epoch"] for r in rows], float), [np.array([r[key] for r in rows], float)]
        return "none", np.zeros(0), []

    def _rebuild(self, snapshot, plotted: dict[str, list[str]], series: dict, x_label: str) -> None:
        for plot in self.plots.values():
            plot.clear()  # also empties the legend
            plot.setLabel("bottom", _(x_label))
        self.items, self._curves_by_key = {}, {}
        for index, (group, names) in enumerate(plotted.items()):
            color = pg.intColor(index, hues=max(len(plotted), 6), values=1, maxValue=200)
            for key, plot in self.plots.items():
                kind, x, ys = series[(group, key)]
                if kind == "band":
                    self._draw_band(group, key, plot, x, ys, color, len(names))
                elif kind == "single":
                    curve = plot.plot(x, ys[0], pen=pg.mkPen(color, width=1.5),
                                      name=_("{group} (1 run)").format(group=group)[:40])
                    self._tune(curve)
                    self.items.setdefault(group, []).append(curve)
                    self._curves_by_key[(group, key)] = [curve]

    def _draw_band(self, group: str, key: str, plot: pg.PlotItem, x: np.ndarray, ys: list[np.ndarray], color,
                   runs: int) -> None:
        mean, high, low = ys
        edge = pg.mkPen(color=(*color.getRgb()[:3], 90), width=1)
        upper = plot.plot(x, high, pen=edge)
        lower = plot.plot(x, low, pen=edge)
        fill = pg.FillBetweenItem(upper, lower, brush=pg.mkBrush(*color.getRgb()[:3], 70))
        plot.addItem(fill)
        line = plot.plot(x, mean, pen=pg.mkPen(color, width=2.5),
                         name=_("{group} · mean ± std, {runs} runs").format(group=group, runs=runs)[:40])
        for curve in (upper, lower, line):
            self._tune(curve)
        self.items.setdefault(group, []).extend([line, upper, lower, fill])
        self._curves_by_key[(group, key)] = [line, upper, lower]

    @staticmethod
    def _tune(curve: pg.PlotDataItem) -> None:
        curve.setDownsampling(auto=True, method="peak")
        curve.setClipToView(True)

    def band_data(self, group: str, plot_key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, mean, std) as drawn: the mean line's data and half the band's height (tests read these)."""
        drawn = [c for c in self.items[group] if isinstance(c, pg.PlotDataItem) and c.getViewBox() is
                 self.plots[plot_key].getViewBox()]
        line, upper, lower = drawn[0], drawn[1], drawn[2]
        x, mean = line.getData()
        return x, mean, (upper.getData()[1] - lower.getData()[1]) / 2

    def _fill_table(self, table: list[dict]) -> None:
        self.table.setRowCount(len(table))
        for row, entry in enumerate(table):
            runs = len(entry["runs"])
            cells = [entry["group"], str(runs)]
            for key, _title in TABLE_COLUMNS:
                mean, std = entry["best_val_loss"] if key == "best_val_loss" else entry["final"][key]
                cells.append(mean_std_text(mean, std, runs, percent=key.endswith("acc")))
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(", ".join(entry["runs"]) if col < 2 else text)
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
