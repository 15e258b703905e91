"""The weights store: which pretrained models exist, which are on disk, and getting them there on request.

    store = WeightsStore()                         # the cache torchvision itself uses
    store.cards("detection")                       # what exists, with torchvision's published numbers
    store.is_available("resnet18")                 # is the file on disk (never downloads)
    store.download("resnet18", progress, should_stop)   # only when the user asks
    store.import_file("resnet18", "~/resnet18-f37072fd.pth")  # a file the user already has
    model, weights = store.build("resnet18")       # random init if the file is missing

Nothing downloads implicitly: `build` constructs torchvision models with `weights=None,
weights_backbone=None` and loads the cached file itself, so an offline classroom gets a clear label
("untrained") instead of a hang. Files live where torchvision keeps them (torch.hub's checkpoints folder),
so a file downloaded by torchvision is found here and the other way round. Every file is read with
`torch.load(weights_only=True)`: a .pth is a pickle, and a pickle from a stranger can run code.
"""

from __future__ import annotations

import difflib
import pickle
import re
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visionlab.core import download as shared
from visionlab.core.atomic import atomic_open
from visionlab.core.download import Progress
from visionlab.core.weights.card import TASKS, DownloadCancelled, ModelCard, WeightsError, check_task, hash_prefix
from visionlab.core.weights.catalog import (
    SUPPORTED_MODELS,
    Recipe,
    build_model,
    torchvision_cards,
    torchvision_recipe,
    weights_enum,
)

if TYPE_CHECKING:
    import torch

__all__ = ["TASKS", "DownloadCancelled", "ModelCard", "WeightsError", "WeightsStore", "read_state_dict"]

MAX_KEYS_SHOWN = 5
_UNSAFE_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


class WeightsStore:
    """Pretrained weights in one cache folder. `extra_models` adds (card, builder) pairs (tests, tiny nets)."""

    stall_timeout_s = 30.0  # a download fails after this long without a single byte

    def __init__(self, cache_dir: str | Path | None = None,
                 extra_models: Iterable[tuple[ModelCard, Callable[..., Any]]] = ()) -> None:
        self._cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else None
        self._extra: dict[str, tuple[ModelCard, Recipe]] = {}
        for card, builder in extra_models:
            if card.name in SUPPORTED_MODELS:
                raise ValueError(f"{card.name} is already a torchvision card")
            self._extra[card.name] = (card, Recipe(builder=builder))

    @property
    def cache_dir(self) -> Path:
        """torch.hub's checkpoints folder unless given (resolved late: it needs `import torch`)."""
        if self._cache_dir is None:
            import torch

            self._cache_dir = Path(torch.hub.get_dir()) / "checkpoints"
        return self._cache_dir

    # ---- what exists -------------------------------------------------------------------------------
    def cards(self, task: str | None = None) -> list[ModelCard]:
        check_task(task)
        every = list(torchvision_cards()) + [card for card, _ in self._extra.values()]
        return [card for card in every if task is None or card.task == task]

    def card(self, name: str) -> ModelCard:
        if name in self._extra:
            return self._extra[name][0]
        for card in torchvision_cards():
            if card.name == name:
                return card
        known = list(SUPPORTED_MODELS) + list(self._extra)
        close = difflib.get_close_matches(str(name), known, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else f" Known models: {', '.join(known)}."
        raise WeightsError(f"unknown model '{name}'.{hint}")

    # ---- what is on disk ---------------------------------------------------------------------------
    def path_for(self, name: str) -> Path:
        """Where the file of `name` lives once downloaded (whether or not it is there)."""
        return self.cache_dir / self.card(name).file_name

    def local_path(self, name: str) -> Path | None:
        # Downloads and imports only ever appear by an atomic rename, so a file present is a file complete.
        path = self.path_for(name)
        return path if path.is_file() and path.stat().st_size > 0 else None

    def is_available(self, name: str) -> bool:
        return self.local_path(name) is not None

    def remove(self, name: str) -> bool:
        """Delete the cached file (to free disk space or fetch it again); False if there was none."""
        path = self.local_path(name)
        if path is None:
            return False
        path.unlink(missing_ok=True)
        return True

    # ---- getting files -----------------------------------------------------------------------------
    def download(self, name: str, progress: Progress | None = None,
                 should_stop: Callable[[], bool] | None = None, url: str | None = None) -> Path:
        """Fetch the card's file (or `url`, e.g. a mirror); checks size and the sha256 prefix in its name.

        The hash expected is the one embedded in the downloaded URL's file name, falling back to the card's:
        a mirror serving "resnet18-f37072fd.pth" is checked like the original. The shared downloader's
        errors become WeightsError / DownloadCancelled here, the types the panels and the CLI catch.
        """
        card = self.card(name)
        source = url or card.url
        expected = hash_prefix(source.rsplit("/", 1)[-1].split("?")[0]) or card.sha256_prefix
        size_hint = int(card.file_size_mb * (1 << 20)) if card.file_size_mb and url is None else None
        hint = f"Download {card.file_name} on another machine and import it ('Import file...')"
        try:
            return shared.fetch(source, self.cache_dir / card.file_name, hash_name="sha256", expected=expected,
                                progress=progress, should_stop=should_stop, size_hint=size_hint,
                                stall_timeout=self.stall_timeout_s, offline_hint=hint)
        except shared.DownloadCancelled as exc:
            raise DownloadCancelled(str(exc)) from None
        except shared.DownloadError as exc:
            raise WeightsError(str(exc)) from None

    def import_file(self, name: str, path: str | Path) -> Path:
        """Copy a .pth the user already has into the cache, after checking it is safe and fits `name`."""
        card = self.card(name)
        source = Path(path).expanduser()
        if not source.is_file():
            raise WeightsError(f"no such file: {source}")
        state_dict, rewritten = read_state_dict(source)
        self._check_fits(card.name, state_dict, label=source.name)
        target = self.cache_dir / card.file_name
        if target.exists() and target.resolve() == source.resolve() and not rewritten:
            return target
        try:
            with atomic_open(target, "wb") as out:
                if rewritten:  # unwrapped from a training checkpoint: store the plain state dict
                    import torch

                    torch.save(state_dict, out)
                else:
                    with open(source, "rb") as original:
                        shutil.copyfileobj(original, out, 1 << 20)
        except OSError as exc:
            raise WeightsError(f"cannot copy {source.name} into {self.cache_dir}: {exc.strerror or exc}") from None
        return target

    # ---- using files -------------------------------------------------------------------------------
    def load_state_dict(self, name: str) -> dict:
        path = self.local_path(name)
        if path is None:
            raise WeightsError(f"the weights of {name} are not here yet ({self.path_for(name)}): download or "
                               "import them first")
        try:
            return read_state_dict(path)[0]
        except WeightsError as exc:
            raise WeightsError(f"{exc}. Remove it and download or import the weights of {name} again") from None

    def build(self, name: str, pretrained: bool = True, **kwargs: Any) -> tuple[torch.nn.Module, Any]:
        """(model in eval mode, weights enum or None). Pretrained only if the file is here; never downloads.

        The torchvision enum comes back whenever pretrained=True, even without the file, because its
        categories and transforms work offline; `is_available(name)` says whether the weights were loaded.
        """
        card, recipe = self.card(name), self._recipe(name)
        state_dict = self.load_state_dict(name) if pretrained and self.is_available(name) else None
        model = build_model(recipe, state_dict is not None, kwargs)
        if state_dict is not None:
            hint = (f"Build it without {', '.join(sorted(kwargs))} to use the pretrained weights, or with "
                    "pretrained=False." if kwargs else "")
            load_into(model, state_dict, recipe, label=f"the cached file of {name}", target=f"this {name}",
                      hint=hint)
        enum = weights_enum(name) if pretrained and card.name in SUPPORTED_MODELS else None
        return model.eval(), enum

    # ---- helpers -----------------------------------------------------------------------------------
    def _recipe(self, name: str) -> Recipe:
        if name in self._extra:
            return self._extra[name][1]
        return torchvision_recipe(self.card(name).name)

    def _check_fits(self, name: str, state_dict: Mapping[str, Any], label: str) -> None:
        """Load into a model built on the meta device: checks keys and shapes without allocating memory."""
        import torch

        recipe = self._recipe(name)
        with torch.device("meta"):
            model = build_model(recipe, True, {})
        load_into(model, state_dict, recipe, label=label, target=name, assign=True)


def read_state_dict(path: Path) -> tuple[dict, bool]:
    """torch.load with weights_only=True; (state dict, whether it had to be unwrapped or renamed)."""
    import torch

    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # weights_only names the class or function the pickle wanted; anything else is a broken pickle.
        wanted = _UNSAFE_GLOBAL.search(str(exc))
        if wanted:
            raise WeightsError(f"refused {path.name}: besides weights it holds Python objects ({wanted.group(1)}) "
                               "whose loading could run code. Use a file from a source you trust, saved with "
                               "torch.save(model.state_dict(), ...)") from None
        raise WeightsError(f"{path.name} is damaged or not a PyTorch weights file "
                           f"({_last_line(str(exc))})") from None
    except (RuntimeError, EOFError, ValueError, OSError, AttributeError, KeyError) as exc:
        first_sentence = str(exc).splitlines()[0].split(". ")[0] if str(exc) else type(exc).__name__
        raise WeightsError(f"{path.name} is damaged or not a PyTorch weights file ({first_sentence})") from None
    return _plain_state_dict(loaded, path.name)


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip() and "documentation" not in line]
    return lines[-1].strip() if lines else text


def _plain_state_dict(loaded: Any, label: str) -> tuple[dict, bool]:
    """Accept a state dict, or a training checkpoint holding one; strip DataParallel's "module." prefix."""
    rewritten = False
    if isinstance(loaded, Mapping) and not _all_tensors(loaded):
        for key in ("state_dict", "model", "model_state_dict"):
            if isinstance(loaded.get(key), Mapping) and _all_tensors(loaded[key]):
                loaded, rewritten = loaded[key], True
                break
    if not isinstance(loaded, Mapping) or not loaded or not _all_tensors(loaded):
        what = type(loaded).__name__ if not isinstance(loaded, Mapping) else "a dictionary that is not a state dict"
        raise WeightsError(f"{label} holds {what}, not a state dict (parameter names -> tensors)")
    if all(str(key).startswith("module.") for key in loaded):
        loaded, rewritten = {key[len("module."):]: value for key, value in loaded.items()}, True
    return loaded, rewritten


def _all_tensors(mapping: Mapping) -> bool:
    import torch

    return all(isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in mapping.items())


def load_into(model: torch.nn.Module, state_dict: Mapping[str, Any], recipe: Recipe, label: str,
              target: str | None = None, assign: bool = False, hint: str = "") -> None:
    """load_state_dict that explains a mismatch: keys missing, unexpected, or of another shape.

    `assign=True` is for models on the meta device, where copying values would be a (warned) no-op.
    """
    own = model.state_dict()
    reshaped = {key: f"{key} {tuple(value.shape)} vs {tuple(own[key].shape)}" for key, value in state_dict.items()
                if key in own and tuple(value.shape) != tuple(own[key].shape)}
    # The untouched mapping keeps torch's `_metadata` (module versions that guide old-file migrations).
    fitting = {key: value for key, value in state_dict.items() if key not in reshaped} if reshaped else state_dict
    result = model.load_state_dict(fitting, strict=False, assign=assign)
    missing = [key for key in result.missing_keys if key not in reshaped]
    unexpected = [key for key in result.unexpected_keys if not key.startswith(recipe.ignored_key_prefixes)]
    if not (missing or unexpected or reshaped):
        return
    problems = [f"{len(keys)} {what} ({', '.join(keys[:MAX_KEYS_SHOWN])}{', ...' * (len(keys) > MAX_KEYS_SHOWN)})"
                for what, keys in (("missing keys", missing), ("unexpected keys", unexpected),
                                   ("keys of another shape, file vs model", list(reshaped.values()))) if keys]
    hint = hint or "Are these the weights of another model?"
    raise WeightsError(f"{label} does not fit {target or type(model).__name__}: " + "; ".join(problems) +
                       f". {hint}")
