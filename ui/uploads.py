"""Uploaded files: checked, then stored under a safe name in the uploads folder
(``Settings.uploads_dir``, never a documents folder), listed and removed from there.

Nothing the browser sends is used as a path: only the last component of the file name, reduced
to ``[A-Za-z0-9._-]``, and the bytes. A name already taken by other content gets a suffix. A
removal names a file; only a plain file directly inside the uploads folder is deleted.
"""
from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from qa.index.documents import SUFFIXES, read_document
from qa.errors import DocumentError, QAError

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # PDFs carry fonts and images; a text file is still held to its own 20 MB
MAX_NAME_CHARS = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class UploadError(QAError):
    """A removal that names no uploaded document."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one uploaded file: ``saved`` is the stored path, or None if rejected."""

    name: str  # the client's file name, for messages only
    saved: Path | None
    message: str

    @property
    def ok(self) -> bool:
        return self.saved is not None


def client_basename(name: str) -> str:
    """The last path component of a client-supplied name, whichever separator it used."""
    return re.split(r"[\\/]", name)[-1]


def safe_name(name: str) -> str:
    """A file name made only of ``[A-Za-z0-9._-]``, never hidden, never a path, suffix kept lowercase.

    >>> safe_name("../../etc/Caf\u00e9 notes (1).TXT")
    'Cafe_notes_1.txt'
    """
    base = client_basename(name)
    ascii_name = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    stem, dot, suffix = ascii_name.rpartition(".")
    if not dot:
        stem, suffix = ascii_name, ""
    stem = _UNSAFE.sub("_", stem).strip("._-") or "document"
    suffix = _UNSAFE.sub("", suffix).lower()
    stem = stem[:MAX_NAME_CHARS]
    return f"{stem}.{suffix}" if suffix else stem


def check_upload(path: Path, name: str, max_bytes: int = MAX_UPLOAD_BYTES) -> str | None:
    """Why the file cannot be added, or None when it is a readable document of an accepted type."""
    shown = client_basename(name)
    suffix = Path(safe_name(name)).suffix.lower()
    if suffix not in SUFFIXES:
        return f"{shown}: {suffix or 'no'} file type; upload {', '.join(SUFFIXES)} files"
    size = path.stat().st_size
    if size > max_bytes:
        return f"{shown}: {size / 1024 / 1024:.1f} MB is over the {max_bytes // (1024 * 1024)} MB limit"
    try:
        read_document(path, display_path=shown)
    except DocumentError as exc:
        return str(exc)
    return None


def _taken_stems(folder: Path, known_ids: Iterable[str]) -> set[str]:
    """Document ids in use: the file stems in the folder and the ids already in the index."""
    stems = {p.stem for p in folder.iterdir() if p.is_file()} if folder.is_dir() else set()
    return stems | set(known_ids)


def destination(folder: Path, name: str, data: bytes, known_ids: Iterable[str]) -> tuple[Path, bool]:
    """Where to store ``data``: (path, already_there). Same name and same bytes means already there.

    The document id is the file stem, so a stem used by any other document is also avoided.
    """
    wanted = Path(safe_name(name))
    first = folder / wanted.name
    if first.is_file() and first.read_bytes() == data:
        return first, True
    taken = _taken_stems(folder, known_ids)
    stem, suffix = wanted.stem, wanted.suffix
    candidate, n = stem, 1
    while candidate in taken:
        candidate = f"{stem}-{n}"
        n += 1
    return folder / f"{candidate}{suffix}", False


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a hidden temporary file in the same folder, then rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def store_upload(path: Path, name: str, folder: Path, known_ids: Iterable[str],
                 max_bytes: int = MAX_UPLOAD_BYTES) -> Outcome:
    """Check one uploaded file and copy it into ``folder`` under a safe, unused name."""
    shown = client_basename(name)
    problem = check_upload(path, name, max_bytes)
    if problem:
        return Outcome(shown, None, problem)
    data = path.read_bytes()
    folder.mkdir(parents=True, exist_ok=True)
    target, present = destination(folder, name, data, known_ids)
    if present:
        return Outcome(shown, target, f"{shown}: already in the documents as {target.name}")
    write_atomically(target, data)
    renamed = "" if target.name == shown else f" as {target.name}"
    return Outcome(shown, target, f"{shown}: added{renamed}")


def uploaded_files(folder: Path) -> list[Path]:
    """The uploaded documents: the plain files directly inside ``folder`` (none when it is missing).
    Hidden files (a write in progress) are not uploads."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if not p.name.startswith(".") and p.is_file() and not p.is_symlink())


def remove_upload(folder: Path, name: object) -> Path:
    """Delete the uploaded document called ``name`` from ``folder``; returns its path.

    Raises UploadError unless ``name`` is exactly the name of one of ``uploaded_files(folder)``:
    a path, a hidden file or anything outside the folder is never touched."""
    if not isinstance(name, str) or not name:
        raise UploadError(f"no uploaded document named {name!r}")
    for path in uploaded_files(folder):
        if path.name == name:
            path.unlink()
            return path
    raise UploadError(f"no uploaded document named {name!r}")
