"""Reading a file a user names, without hanging or filling memory.

Stub folders, fixture files, recordings, config files and keys are named by
users, and a folder can hold anything: a FIFO (opening it for reading blocks
until a writer comes, so the server would never print its ready line), a
symlink to ``/dev/zero`` (its size says 0, and reading it never ends).  Every
such file is opened without blocking, must be a regular file, and is read up
to a limit; anything else is an ``OSError`` whose text says which.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def read_bytes(path: str | Path, limit: int) -> bytes:
    """The bytes of the regular file at ``path`` (symlinks followed), at most ``limit``."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"not a regular file ({_kind(info.st_mode)})")
        if info.st_size > limit:
            raise OSError(f"larger than {_size(limit)}")
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, min(1 << 20, limit + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # it grew while being read
                raise OSError(f"larger than {_size(limit)}")
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text(path: str | Path, limit: int, encoding: str = "utf-8") -> str:
    return read_bytes(path, limit).decode(encoding)


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return name
    return "not a file"


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n} bytes"
