"""Errors a user can cause. The CLI prints them as one line and exits non-zero."""


class UserError(Exception):
    """Bad input from a user: a path, file, image, option value or checkpoint.

    Raised by library code wherever the cause is the caller's input rather than a bug, so the
    CLI can report it in one clear line instead of a traceback.
    """


class CheckpointError(UserError):
    """A file is not a checkpoint this library can read (missing, truncated, wrong format, unsafe)."""


class ConfigError(UserError):
    """A network config (from a file) that describes no network: an unknown field, a value of the
    wrong type or out of range, or sizes larger than the weights that come with it."""


class StyleganWarning(UserWarning):
    """Something a user should know that does not stop the work (a network with NaN weights, a
    damaged cache entry that is recomputed). The CLI prints it as one ``warning:`` line."""


class WriteError(OSError):
    """An output file could not be written (permission, read-only or full file system, ...).

    Raised by ``stylegan.utils.files.atomic_write`` with the final path (not the temporary one) as
    ``filename``; the CLI prints it as ``error: cannot write PATH: REASON``.
    """

    def __str__(self) -> str:
        return f"cannot write {self.filename}: {self.strerror}"
