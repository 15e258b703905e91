"""One TensorBoard event file, read incrementally with TensorBoard's own record reader.

`RawEventFileLoader` keeps its place in the file: a record still being written (cut short) is read again,
whole, at the next call. Its `Load()` swallows every `DataLossError`, though, so a damaged file would look
like one that simply stopped growing; `_RecordLoader` keeps the reader but tells the two apart (a cut
record is retried, a checksum failure ends that file with a sentence for the student).

Scalars come in two encodings: `simple_value` (PyTorch's SummaryWriter, TF1) and a rank-0 `tensor` whose
tag was first written with the "scalars" plugin's metadata (TF2 / Keras). Hyperparameters come from the
hparams plugin's `session_start_info`.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from pathlib import Path

from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
from tensorboard.compat import tf
from tensorboard.compat.proto import event_pb2
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.util import tensor_util

from visionlab.core.i18n import _

# Framing of one TFRecord around its payload: length (8 bytes) + its crc (4) + payload crc (4).
_RECORD_FRAMING_BYTES = 16
_SCALARS_PLUGIN = "scalars"


def format_count(number: int) -> str:
    """1234 -> "1 234": the thousands separator the messages use in both languages."""
    return f"{number:,}".replace(",", " ")


@dataclass
class Column:
    """The points of one tag in one file, in file order (arrays: compact to pickle between processes)."""
    steps: array = field(default_factory=lambda: array("q"))
    values: array = field(default_factory=lambda: array("d"))
    wall_times: array = field(default_factory=lambda: array("d"))


@dataclass
class FileSnapshot:
    """Everything read from one file so far; what a worker process sends back after a full read."""
    path: Path
    columns: dict[str, Column] = field(default_factory=dict)
    hparams: dict[str, object] = field(default_factory=dict)
    plugin_by_tag: dict[str, str] = field(default_factory=dict)
    records: int = 0
    offset: int = 0  # bytes of whole records consumed, where an incremental reader continues
    error: str | None = None  # set once: a damaged or vanished file is not read again


class _RecordLoader(RawEventFileLoader):
    """TensorBoard's raw loader, with damage told apart from a record that is still being written."""

    def read_records(self, snapshot: FileSnapshot) -> list[bytes]:
        records = []
        while True:
            try:
                records.append(next(self._iterator))
            except StopIteration:
                break
            except tf.errors.DataLossError as exc:
                if "truncated" not in str(exc):  # a crc failure: the bytes are wrong, waiting will not help
                    good = format_count(snapshot.records + len(records))
                    snapshot.error = _("{file} is damaged after {count} records: the rest of that file is "
                                       "skipped").format(file=snapshot.path.name, count=good)
                break  # truncated: the writer is mid-record; the reader retries from the record's start
        return records

    def seek(self, offset: int) -> bool:
        """Continue at a byte offset another process reached; False where this reader cannot seek."""
        handle = getattr(getattr(self._iterator, "_reader", None), "file_handle", None)
        if handle is None or not hasattr(handle, "continuation_token"):
            return False
        # The stub GFile reads from `continuation_token` onwards when its buffer is empty.
        handle.buff, handle.buff_offset, handle.continuation_token = None, 0, {"opaque_offset": offset}
        return True


class EventFile:
    """An event file being watched: `read_new()` returns the tags that got points since the last call."""

    def __init__(self, path: Path, snapshot: FileSnapshot | None = None) -> None:
        self.snapshot = snapshot or FileSnapshot(path=path)
        self._loader: _RecordLoader | None = None

    def read_new(self) -> set[str]:
        snapshot = self.snapshot
        if snapshot.error is not None:
            return set()
        try:
            skip = 0
            if self._loader is None:
                self._loader = _RecordLoader(str(snapshot.path))
                if snapshot.offset and not self._loader.seek(snapshot.offset):
                    skip = snapshot.records  # a reader that cannot seek: read the known records again, drop them
            records = self._loader.read_records(snapshot)[skip:]
        except (OSError, tf.errors.OpError) as exc:
            snapshot.error = deleted_sentence(snapshot.path) if not snapshot.path.exists() else (
                _("{file} could not be read any more ({reason}): the points read before are kept").format(
                    file=snapshot.path.name, reason=exc))
            return set()
        return _add_records(snapshot, records)


def deleted_sentence(path: Path) -> str:
    return _("{file} was deleted while being watched: its points are kept").format(file=path.name)


def read_whole_file(path: Path) -> FileSnapshot:
    """A worker process's job: everything in one file (module level, so it pickles by name)."""
    watched = EventFile(Path(path))
    watched.read_new()
    return watched.snapshot


def _add_records(snapshot: FileSnapshot, records: list[bytes]) -> set[str]:
    changed: set[str] = set()
    columns, plugin_by_tag = snapshot.columns, snapshot.plugin_by_tag
    for record in records:
        snapshot.offset += len(record) + _RECORD_FRAMING_BYTES
        event = event_pb2.Event.FromString(record)
        if not event.HasField("summary"):
            continue
        for value in event.summary.value:
            tag = value.tag
            if value.HasField("metadata") and value.metadata.plugin_data.plugin_name:
                plugin_by_tag.setdefault(tag, value.metadata.plugin_data.plugin_name)
            kind = value.WhichOneof("value")
            if kind == "simple_value":
                number = value.simple_value
            elif kind == "tensor" and plugin_by_tag.get(tag) == _SCALARS_PLUGIN:
                number = float(tensor_util.make_ndarray(value.tensor).item())
            else:
                is_hparams = plugin_by_tag.get(tag) == hparams_metadata.PLUGIN_NAME
                if is_hparams and tag == hparams_metadata.SESSION_START_INFO_TAG:
                    snapshot.hparams.update(_session_hparams(value.metadata.plugin_data.content))
                continue
            column = columns.get(tag)
            if column is None:
                column = columns[tag] = Column()
            column.steps.append(event.step)
            column.values.append(number)
            column.wall_times.append(event.wall_time)
            changed.add(tag)
    snapshot.records += len(records)
    return changed


def _session_hparams(content: bytes) -> dict[str, object]:
    info = hparams_metadata.parse_session_start_info_plugin_data(content)
    result: dict[str, object] = {}
    for name, value in info.hparams.items():
        kind = value.WhichOneof("kind")
        item: object = getattr(value, kind) if kind in ("number_value", "string_value", "bool_value") else None
        # The hparams proto stores every number as a double: a batch size of 64 reads back as 64.0.
        result[name] = int(item) if isinstance(item, float) and item.is_integer() else item
    return result
