"""Reading a .pth from a stranger: `torch.load(weights_only=True)`, and one sentence when it is refused.

A .pth is a pickle, and a pickle can name any Python function to call while it loads (os.system, eval).
torch's weights_only loader refuses such files, but its messages are paragraphs about PyTorch 2.6 and name
the culprit only sometimes: a pickle written with `pickle.dump` (protocol 4 or 5) stops at its first opcode
("Unsupported operand 149") before torch sees any function. So when torch refuses a file, we read the
pickle ourselves with `pickletools` (which parses opcodes and never calls anything) and name every function
outside torch's allowed set. The Import buttons of both panels and Feature Maps' Checkpoint… all go through
`load_weights_only`, so the same file gets the same sentence everywhere. It lives outside the feature
packages because both `core.weights` and `core.training` use it (they may not import each other).
"""

from __future__ import annotations

import pickletools
import re
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

MAX_CALLS_NAMED = 3
MAX_OPCODES = 2_000_000  # a weights pickle has ~20 per tensor; stop scanning a crafted endless one
MAX_PICKLES = 6  # torch's legacy format is five pickles in a row (magic, protocol, info, object, keys)
_TORCH_NAMED = re.compile(r"GLOBAL ([\w.]+)")
# Python's own modules under their platform names: "posix.system" is what a student knows as os.system.
_READABLE_MODULES = {"posix": "os", "nt": "os", "__builtin__": "builtins"}
_STRING_OPS = {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE",
               "BINUNICODE8"}
_MARK = object()
HIDDEN_NAME = "a function whose name the pickle computes"  # STACK_GLOBAL fed by values we do not follow


class RefusedFile(Exception):
    """A file torch would not load as plain weights; the message is one whole sentence for the user."""


def load_weights_only(path: str | Path) -> Any:
    """torch.load(path, weights_only=True) on the CPU; any failure -> RefusedFile with the reason in words."""
    import torch

    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise RefusedFile(f"{path.name} is empty (0 bytes), not a PyTorch weights file.")
    except OSError as exc:
        raise RefusedFile(f"cannot read {path.name}: {exc.strerror or exc}.") from None
    with warnings.catch_warnings():
        # Protocol 4/5 pickles make torch warn before it refuses them: the refusal below says it all.
        warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # whatever a foreign file makes torch raise, the user gets one sentence
            raise RefusedFile(refusal_sentence(path, exc)) from None


def refusal_sentence(path: Path, exc: BaseException) -> str:
    """Why torch refused `path`: the functions its pickle would call, or else what is damaged."""
    calls = unsafe_calls(path)
    named_by_torch = _TORCH_NAMED.search(str(exc))
    if named_by_torch and not calls:
        calls = [_readable(named_by_torch.group(1))]
    if calls:
        return unsafe_sentence(path.name, calls)
    if _cut_short(path):
        return (f"{path.name} is truncated or damaged: it starts like a PyTorch file, but its end is missing "
                f"({_first_sentence(exc)}).")
    return f"{path.name} is damaged or not a PyTorch weights file ({_first_sentence(exc)})."


def unsafe_sentence(file_name: str, calls: list[str]) -> str:
    shown = ", ".join(calls[:MAX_CALLS_NAMED])
    if len(calls) > MAX_CALLS_NAMED:
        shown += f" and {len(calls) - MAX_CALLS_NAMED} more"
    return (f"{file_name} was refused: opening it would call {shown}, which can run any code on this computer. "
            "A weights file holds only tensors: use one from a source you trust, saved with "
            "torch.save(model.state_dict(), path).")


def unsafe_calls(path: Path) -> list[str]:
    """Functions and classes the file's pickles name that torch's weights_only loader does not allow."""
    allowed = _allowed_globals()

    def is_allowed(name: str) -> bool:
        return name in allowed if allowed else name.startswith(("torch.", "collections.OrderedDict"))

    found: list[str] = []
    for name in referenced_globals(path):
        readable = _readable(name)
        if not is_allowed(name) and readable not in found:
            found.append(readable)
    # What a student recognizes as dangerous (os.system, builtins.eval) first, torch's own internals after.
    return sorted(found, key=lambda name: name.startswith("torch."))


def referenced_globals(path: Path) -> list[str]:
    """Every `module.name` the pickles in `path` refer to (a torch zip's data.pkl, or a plain pickle file)."""
    names: list[str] = []
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    if member.endswith(".pkl"):
                        with archive.open(member) as stream:
                            names += _scan(stream, pickles=1)
        else:
            with open(path, "rb") as stream:
                names += _scan(stream, pickles=MAX_PICKLES)
    except (OSError, zipfile.BadZipFile, RuntimeError):
        pass  # what was read so far is all there is to name
    return names


def _scan(stream: IO[bytes], pickles: int) -> list[str]:
    names: list[str] = []
    for _ in range(pickles):
        try:
            names += _globals_of(_opcodes(stream))
        except Exception:  # the bytes stop being a pickle (tensor data after it, or damage): done
            break
    return names


def _opcodes(stream: IO[bytes]) -> Iterator[tuple[pickletools.OpcodeInfo, Any]]:
    for count, (opcode, arg, _position) in enumerate(pickletools.genops(stream)):
        if count >= MAX_OPCODES:
            return
        yield opcode, arg


def _globals_of(opcodes: Iterable[tuple[pickletools.OpcodeInfo, Any]]) -> list[str]:
    """Follow the unpickler's stack just enough to know the two strings under each STACK_GLOBAL."""
    stack: list[Any] = []
    memo: dict[Any, Any] = {}
    names: list[str] = []
    for opcode, arg in opcodes:
        op = opcode.name
        if op in ("GLOBAL", "INST"):  # genops gives their argument as "module name"
            names.append(".".join(str(arg).split(" ", 1)))
        if op == "STACK_GLOBAL":
            module, name = (stack[-2], stack[-1]) if len(stack) >= 2 else (None, None)
            names.append(f"{module}.{name}" if isinstance(module, str) and isinstance(name, str) else HIDDEN_NAME)
        elif op in ("PUT", "BINPUT", "LONG_BINPUT") and stack:
            memo[arg] = stack[-1]
            continue
        elif op == "MEMOIZE" and stack:
            memo[len(memo)] = stack[-1]
            continue
        elif op in ("GET", "BINGET", "LONG_BINGET"):
            stack.append(memo.get(arg))
            continue
        elif op == "MARK":
            stack.append(_MARK)
            continue
        elif op in _STRING_OPS:
            stack.append(arg if isinstance(arg, str) else None)
            continue
        _pop(stack, opcode.stack_before)
        stack.extend([None] * len(opcode.stack_after))
    return names


def _pop(stack: list[Any], before: list[Any]) -> None:
    if pickletools.markobject in before:  # everything down to the last MARK, then what lies under it
        mark = max((i for i, item in enumerate(stack) if item is _MARK), default=0)
        del stack[mark:]
        count = before.index(pickletools.markobject)
    else:
        count = len(before)
    del stack[max(0, len(stack) - count):]


def _cut_short(path: Path) -> bool:
    """A zip archive (torch's format since 1.6) whose central directory, stored at the end, is gone."""
    try:
        with open(path, "rb") as stream:
            starts_as_zip = stream.read(4) == b"PK\x03\x04"
        return starts_as_zip and not zipfile.is_zipfile(path)
    except OSError:
        return False


def _allowed_globals() -> set[str]:
    """torch's own list of what weights_only may load (private API: empty if a torch release moves it)."""
    try:
        from torch import _weights_only_unpickler as unpickler

        return set(unpickler._get_allowed_globals()) | set(unpickler._get_user_allowed_globals())
    except (ImportError, AttributeError):
        return set()


def _readable(name: str) -> str:
    module, _, attribute = name.rpartition(".")
    return f"{_READABLE_MODULES.get(module, module)}.{attribute}" if module else name


def _first_sentence(exc: BaseException) -> str:
    """torch's first sentence, whole ("failed finding central directory"), never cut at a fixed length."""
    if isinstance(exc, EOFError):
        return "the file ends too early"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, KeyError) or not text:  # e.g. KeyError: '101' from a text file: no words to show
        return "it is neither a torch zip archive nor a pickle"
    return re.split(r"(?<=[.!?])\s+", text)[0].rstrip(".")
