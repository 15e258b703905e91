"""The weights store: which pretrained models exist, which are on disk, and getting them there on request.

    store = WeightsStore()                         # the cache torchvision itself uses
    store.cards("detection")                       # what exists, with torchvision's published numbers
    store.is_available("resnet18")                 # is the file on disk (never downloads)
    store.download("resnet18", progress, should_stop)   # only when the user asks (mirror="http://host/dir/")
    store.import_file("resnet18", "~/resnet18-f37072fd.pth")  # a file the user already has
    model, weights = store.build("resnet18")       # random init if the file is missing
    store.loaded_source("resnet18").label          # "ImageNet weights" / "imported, unverified: my.pth"

Nothing downloads implicitly: `build` constructs torchvision models with `weights=None,
weights_backbone=None` and loads the cached file itself, so an offline classroom gets a clear label
("untrained") instead of a hang. Files live where torchvision keeps them (torch.hub's checkpoints folder),
so a file downloaded by torchvision is found here and the other way round. Only the published file may
carry the official name: a download must hash to the card's sha256 digits, and an imported file that does
not is kept apart (IMPORTED_FOLDER) and labelled "imported, unverified". Every file is read with
`torch.load(weights_only=True)`: a .pth is a pickle, and a pickle from a stranger can run code.
"""

from __future__ import annotations

import difflib
import shutil
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visionlab.core import download as shared
from visionlab.core.atomic import atomic_open
from visionlab.core.download import Progress
from visionlab.core.i18n import _
from visionlab.core.weights.card import TASKS, DownloadCancelled, ModelCard, WeightsError, check_task
from visionlab.core.weights.catalog import (
    SUPPORTED_MODELS,
    Recipe,
    build_model,
    torchvision_cards,
    torchvision_recipe,
    weights_enum,
)
from visionlab.core.weights.source import IMPORT_BUTTON, WeightsSource, file_sha256, mirror_url
from visionlab.core.weights.state_dict import load_into, read_state_dict

if TYPE_CHECKING:
    import torch

__all__ = ["TASKS", "DownloadCancelled", "ModelCard", "WeightsError", "WeightsSource", "WeightsStore",
           "read_state_dict"]

# Inside the cache but apart from torchvision's names: torch.hub only ever looks for checkpoints/<file name>.
IMPORTED_FOLDER = "visionlab-imported"


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
        self._loaded: dict[str, WeightsSource] = {}  # what the last build of each model loaded

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
        every = list(torchvision_cards()) + [card for card, _path in self._extra.values()]
        return [card for card in every if task is None or card.task == task]

    def card(self, name: str) -> ModelCard:
        if name in self._extra:
            return self._extra[name][0]
        for card in torchvision_cards():
            if card.name == name:
                return card
        known = list(SUPPORTED_MODELS) + list(self._extra)
        close = difflib.get_close_matches(str(name), known, n=3)
        hint = (_("Did you mean {names}?").format(names=", ".join(close)) if close else
                _("Known models: {names}.").format(names=", ".join(known)))
        raise WeightsError(_("unknown model '{name}'.").format(name=name) + " " + hint)

    # ---- what is on disk ---------------------------------------------------------------------------
    def path_for(self, name: str) -> Path:
        """Where the published file of `name` lives once downloaded (whether or not it is there)."""
        return self.cache_dir / self.card(name).file_name

    def imported_path(self, name: str) -> Path | None:
        """The unverified file imported for `name`, under its own file name in the imported folder, if any."""
        folder = self._imported_folder(name)
        files = sorted(folder.iterdir()) if folder.is_dir() else []
        return next((path for path in files if _complete(path)), None)

    def local_path(self, name: str) -> Path | None:
        """The file `build` loads: an imported one (the user's latest choice: a download removes it) or the
        published one."""
        official = self.path_for(name)
        return self.imported_path(name) or (official if _complete(official) else None)

    def is_available(self, name: str) -> bool:
        return self.local_path(name) is not None

    def weights_source(self, name: str) -> WeightsSource | None:
        """Which file `build` would load and whether it is the published one (hashes it once per version)."""
        path = self.local_path(name)
        if path is None:
            return None
        try:
            digest = file_sha256(path)
        except OSError as exc:
            raise WeightsError(f"cannot read {path}: {exc.strerror or exc}") from None
        return WeightsSource(self.card(name), path, digest, imported=path != self.path_for(name))

    def has_published(self, name: str) -> bool:
        """Is torchvision's published file itself under the official name (an import beside it or not)?"""
        official, published = self.path_for(name), self.card(name).sha256_prefix
        try:
            return bool(published) and _complete(official) and file_sha256(official).startswith(published or "")
        except OSError:
            return False

    def loaded_source(self, name: str) -> WeightsSource | None:
        """What the last `build(name)` loaded (None: random weights). Memory only, so the GUI thread may ask."""
        return self._loaded.get(name)

    def remove(self, name: str) -> bool:
        """Delete the cached and the imported file (to free disk space or fetch again); False if there was none."""
        removed = False
        for path in (self.imported_path(name), self.path_for(name)):
            if path is not None and path.is_file():
                path.unlink(missing_ok=True)
                removed = True
        return removed

    # ---- getting files -----------------------------------------------------------------------------
    def download(self, name: str, progress: Progress | None = None,
                 should_stop: Callable[[], bool] | None = None, mirror: str | None = None,
                 offline_hint: str | None = None) -> Path:
        """Fetch the card's file (from torchvision, or from the `mirror` folder), refusing any other bytes.

        The name asked for and the sha256 digits checked come from the card alone, never from the server:
        a mirror is asked for the published file name, and a file that does not hash to the card's digits
        is removed, whatever the server called it. The shared downloader's errors become WeightsError /
        DownloadCancelled here, the types the panels and the CLI catch.
        """
        card = self.card(name)
        expected = card.sha256_prefix
        if not expected:
            raise WeightsError(_("the card of {name} publishes no sha256 digits ({file}): VisionLab "
                                 "cannot check a download of it").format(name=name, file=card.file_name))
        url = mirror_url(mirror, card.file_name) if mirror else card.url
        size_hint = int(card.file_size_mb * (1 << 20)) if card.file_size_mb else None
        if offline_hint is None:
            offline_hint = _("Download {file} on a machine that has a network, then bring it in "
                             "with the “{button}” button.").format(file=card.file_name, button=_(IMPORT_BUTTON))
        try:
            path = shared.fetch(url, self.path_for(name), hash_name="sha256", expected=expected,
                                progress=progress, should_stop=should_stop, size_hint=size_hint,
                                stall_timeout=self.stall_timeout_s, offline_hint=offline_hint)
        except shared.DownloadCancelled as exc:
            raise DownloadCancelled(str(exc)) from None
        except shared.HashMismatch as exc:  # fetch removed the bytes: nothing of them is left in the cache
            raise WeightsError(_("refused {file} from {host}: its sha256 starts with {found}, "
                                 "torchvision's published file's with {expected} ({weights}); nothing "
                                 "was kept.").format(file=card.file_name, host=_host(url), found=exc.found,
                                                     expected=expected, weights=card.weights_name)) from None
        except shared.DownloadError as exc:
            missing = " " + _("A classroom mirror must hold torchvision's published file names.") \
                if mirror and "HTTP 404" in str(exc) else ""
            raise WeightsError(f"{exc}{missing}") from None
        self._drop_imported(name)  # the published file now wins over an earlier unverified import
        return path

    def import_file(self, name: str, path: str | Path) -> Path:
        """Copy a .pth the user already has into the store, after checking it is safe and fits `name`.

        Only the published file itself (same sha256 digits as the card) goes under the official name;
        anything else, a wrapped checkpoint included, is kept apart in the imported folder, unverified.
        """
        card = self.card(name)
        source = Path(path).expanduser()
        if not source.is_file():
            raise WeightsError(_("no such file: {path}").format(path=source))
        state_dict, rewritten = read_state_dict(source)
        self._check_fits(card.name, state_dict, label=source.name)
        published = not rewritten and bool(card.sha256_prefix) and \
            file_sha256(source).startswith(card.sha256_prefix or "")
        # A dot name would be taken for a temporary file and ignored: the stored copy loses the dots.
        target = self.path_for(name) if published else \
            self._imported_folder(name) / (source.name.lstrip(".") or "weights.pth")
        if not (target.exists() and target.resolve() == source.resolve() and not rewritten):
            try:
                with atomic_open(target, "wb") as out:
                    if rewritten:  # unwrapped from a training checkpoint: store the plain state dict
                        import torch

                        torch.save(state_dict, out)
                    else:
                        with open(source, "rb") as original:
                            shutil.copyfileobj(original, out, 1 << 20)
            except OSError as exc:
                raise WeightsError(_("cannot copy {file} into {folder}: {error}").format(
                    file=source.name, folder=target.parent, error=exc.strerror or exc)) from None
        self._drop_imported(name, keep=None if published else target)
        return target

    # ---- using files -------------------------------------------------------------------------------
    def load_state_dict(self, name: str) -> dict:
        path = self.local_path(name)
        if path is None:
            raise WeightsError(_("the weights of {name} are not here yet ({path}): download or "
                                 "import them first").format(name=name, path=self.path_for(name)))
        try:
            return read_state_dict(path)[0]
        except WeightsError as exc:
            raise WeightsError(_("{problem}. Remove it and download or import the weights of {name} "
                                 "again").format(problem=str(exc).rstrip("."), name=name)) from None

    def build(self, name: str, pretrained: bool = True, **kwargs: Any) -> tuple[torch.nn.Module, Any]:
        """(model in eval mode, weights enum or None). Pretrained only if the file is here; never downloads.

        The torchvision enum comes back whenever pretrained=True, even without the file, because its
        categories and transforms work offline; `is_available(name)` says whether the weights were loaded.
        """
        card, recipe = self.card(name), self._recipe(name)
        source = self.weights_source(name) if pretrained else None
        state_dict = self.load_state_dict(name) if source is not None else None
        model = build_model(recipe, state_dict is not None, kwargs)
        if state_dict is not None:
            hint = (f"Build it without {', '.join(sorted(kwargs))} to use the pretrained weights, or with "
                    "pretrained=False." if kwargs else "")
            load_into(model, state_dict, recipe, label=f"the cached file of {name}", target=f"this {name}",
                      hint=hint)
        self._loaded.pop(name, None)
        if source is not None:
            self._loaded[name] = source
        enum = weights_enum(name) if pretrained and card.name in SUPPORTED_MODELS else None
        return model.eval(), enum

    # ---- helpers -----------------------------------------------------------------------------------
    def _imported_folder(self, name: str) -> Path:
        return self.cache_dir / IMPORTED_FOLDER / self.card(name).name

    def _drop_imported(self, name: str, keep: Path | None = None) -> None:
        """One imported file per model: the newest import (or a download) replaces the older ones."""
        folder = self._imported_folder(name)
        for path in sorted(folder.iterdir()) if folder.is_dir() else []:
            if path.is_file() and path != keep and not path.name.startswith("."):
                path.unlink(missing_ok=True)

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


def _host(url: str) -> str:
    return urllib.parse.urlparse(url).netloc or url


def _complete(path: Path) -> bool:
    # Downloads and imports only ever appear by an atomic rename, so a file present is a file complete.
    return path.is_file() and path.stat().st_size > 0 and not path.name.startswith(".")
