"""Named errors. Every user-facing failure is a QAError whose message is one line saying what to do."""


class QAError(Exception):
    """Base class: a problem the user can fix; the CLI prints it on one line and exits 1."""


class InputError(QAError, ValueError):
    """A question, query or option value that cannot be used."""


class DocumentError(QAError):
    """No readable documents, or a path that does not exist."""


class ModelError(QAError):
    """The embedding model is missing, cannot be loaded or fails its checksum."""


class CheckpointError(QAError):
    """A training run folder holds no usable checkpoint, or one of a run with other settings."""


class IndexError_(QAError):
    """The index folder is missing, corrupt, or was built with other settings."""


class IndexMissingError(IndexError_):
    """No index has been built in the folder yet."""


class IndexCorruptError(IndexError_):
    """A file of the index is truncated, unreadable or inconsistent with the others."""


class IndexMismatchError(IndexError_):
    """The index was built with another model, schema or settings than the running ones."""


class IndexLockedError(IndexError_):
    """Another process holds the index lock."""


class IndexWriteError(IndexError_):
    """The index folder cannot be created or written (a file in its place, permissions, a full disk)."""
