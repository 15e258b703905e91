"""Whose weights a model runs with: the published file (its sha256 checked against the card) or a file the
user imported, and where a classroom mirror keeps the published files.

The only authority on a file is the model's card, i.e. torchvision's published URL: its name carries the
first sha256 digits of the file torchvision published. A server's own file names prove nothing (anyone can
name a random-init file "resnet18-<its own hash>.pth"), so a mirror is a folder that is asked for the
card's file name, and what arrives must hash to the card's digits.
"""

from __future__ import annotations

import hashlib
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from visionlab.core.i18n import N_, _
from visionlab.core.weights.card import ModelCard, WeightsError

HASH_CHUNK = 1 << 20
IMPORT_BUTTON = N_("Import .pth…")  # both panels' button: the offline hint names it, so they cannot drift apart
_digests: dict[tuple[str, int, int, int], str] = {}  # (path, inode, size, mtime_ns) -> sha256: hash once
_digests_lock = threading.Lock()


@dataclass(frozen=True)
class WeightsSource:
    """The file a model's weights were loaded from, and whether it is the one torchvision published."""

    card: ModelCard
    path: Path
    sha256: str
    imported: bool  # kept apart from the official file name, in the store's imported folder

    @property
    def verified(self) -> bool:
        published = self.card.sha256_prefix
        return bool(published) and not self.imported and self.sha256.startswith(published or "")

    @property
    def label(self) -> str:
        """A few words for a model bar: "ImageNet weights" only for the published file itself."""
        if self.verified:
            return (_("{data} weights").format(data=self.card.trained_on) if self.card.trained_on
                    else _("published weights"))
        if self.imported:
            return _("imported, unverified: {file}").format(file=self.path.name)
        return _("unverified: {file}").format(file=self.path.name)

    @property
    def mismatch(self) -> str:
        """How this file differs from the published one, in the card's own terms."""
        return _("its sha256 starts with {mine}, the published file's with {published}").format(
            mine=self.sha256[:8], published=self.card.sha256_prefix or "?")

    @property
    def description(self) -> str:
        """The sentence behind the label (a tooltip, a banner): which file, and what was checked."""
        published = self.card.sha256_prefix or "?"
        if self.verified:
            return _("torchvision's published {label} ({file}): its sha256 starts with {published} "
                     "as the model's card says.").format(label=self.label, file=self.path.name, published=published)
        differs = self.mismatch
        if self.imported:
            return _("Imported, unverified: {file} is not torchvision's published file ({differs}), so the model "
                     "{model} shows what that file learned.").format(file=self.path.name, differs=differs,
                                                                     model=self.card.name)
        return _("{file} carries the published file name but not its contents ({differs}). Remove it "
                 "and download or import the published file.").format(file=self.path.name, differs=differs)


def file_sha256(path: Path) -> str:
    """sha256 of a file, remembered by (path, size, modification time) so a rebuild does not re-read it."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    with _digests_lock:
        known = _digests.get(key)
    if known is not None:
        return known
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(HASH_CHUNK):
            digest.update(chunk)
    value = digest.hexdigest()
    with _digests_lock:
        _digests[key] = value
    return value


def mirror_url(mirror: str, file_name: str) -> str:
    """`file_name` inside the mirror folder; a mirror that is not an http(s) folder is refused."""
    address = mirror.strip()
    parts = urllib.parse.urlparse(address)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise WeightsError(_("a mirror is the http:// or https:// address of a folder, not '{mirror}' "
                             "(for a file on this computer use {button})").format(mirror=mirror,
                                                                                  button=_(IMPORT_BUTTON)))
    if parts.path.lower().endswith((".pth", ".pt")) or parts.query or parts.fragment:
        raise WeightsError(_("a mirror is the folder that holds {file}, not a file: use {folder}/").format(
            file=file_name, folder=address.rsplit("/", 1)[0]))
    return f"{address.rstrip('/')}/{file_name}"


MIRROR_TITLE = N_("Classroom mirror")
MIRROR_PROMPT = N_("The http(s) folder that holds torchvision's weight files under their published names\n"
                   "(e.g. http://teacher.local/weights/ holding resnet18-f37072fd.pth). Every file is checked\n"
                   "against the sha256 on the model's card. Leave empty for download.pytorch.org.")


def download_source(mirror: str) -> str:
    """Where a Download button fetches from, for its tooltip."""
    return _("from the classroom mirror {mirror}").format(mirror=mirror) if mirror else _("from download.pytorch.org")


def check_mirror(mirror: str) -> str:
    """The mirror as it will be used ("" for none); WeightsError if it cannot be one (for the settings field)."""
    address = mirror.strip()
    if address:
        mirror_url(address, "torchvision's published weight files")
    return address.rstrip("/")
