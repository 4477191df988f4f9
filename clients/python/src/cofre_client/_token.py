"""Reading an agent token from a file, the only way this client takes one."""

from __future__ import annotations

import os
import stat
import sys
from typing import NoReturn

from ._errors import CofreConfigError

MAX_TOKEN_FILE_BYTES = 4096
TOKEN_FILE_ENV = "COFRE_TOKEN_FILE"


class Token:
    """An agent token. SECURITY: redaction is part of the type: its repr and str never show the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Token([REDACTED])"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Token) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> NoReturn:
        # Pickling would write the token wherever the pickle goes (a cache, a queue): refuse.
        raise TypeError("a cofre token cannot be pickled")


def token_file_from(token_file: str | os.PathLike[str] | None) -> str:
    """The token file to use: the argument, else the path in COFRE_TOKEN_FILE (a path, never the token itself)."""
    if token_file is not None:
        return os.fspath(token_file)
    from_env = os.environ.get(TOKEN_FILE_ENV, "")
    if from_env == "":
        raise CofreConfigError(
            "COFRE_INPUT_INVALID",
            f"no token file: pass token_file=... or set {TOKEN_FILE_ENV} to the path of the file "
            "`cofre agent add <id> --token-file <file>` wrote",
        )
    return from_env


def read_token_file(path: str) -> Token:
    """
    Reads an agent token from a file, as `cofre mcp --token-file` does.

    SECURITY: refuses a file that group or others can read or write (COFRE_TOKEN_FILE_INSECURE): whoever reads the
    token acts as the agent. The mode is checked on the opened file descriptor, so the file cannot be swapped between
    the check and the read.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as err:
        raise CofreConfigError(
            "COFRE_INPUT_INVALID", f"cannot read the token file {path}: {err.strerror or 'error'}"
        ) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CofreConfigError("COFRE_INPUT_INVALID", f"the token file {path} is not a regular file")
        if sys.platform != "win32" and st.st_mode & 0o077:
            mode = format(st.st_mode & 0o777, "03o")
            raise CofreConfigError(
                "COFRE_TOKEN_FILE_INSECURE",
                f"the token file {path} has mode {mode}, so other users can read it; run: chmod 600 {path}",
            )
        if st.st_size > MAX_TOKEN_FILE_BYTES:
            raise CofreConfigError(
                "COFRE_INPUT_INVALID", f"the token file {path} is larger than {MAX_TOKEN_FILE_BYTES} bytes"
            )
        raw = os.read(fd, MAX_TOKEN_FILE_BYTES + 1)
    finally:
        os.close(fd)
    try:
        value = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        value = ""
    if value == "" or any(c in value for c in "\r\n\0 \t"):
        raise CofreConfigError(
            "COFRE_INPUT_INVALID", f"the token file {path} does not hold one token on one line"
        )
    return Token(value)


def write_token_file(path: str | os.PathLike[str], value: str) -> str:
    """
    Writes a token to a new file only its owner can read (mode 600), for a sub-agent's client to read with
    :func:`read_token_file`. SECURITY: refuses an existing path (O_EXCL: no symlink or file planted there is
    followed or overwritten); the file is created with its final mode, never readable by others in between.
    """
    target = os.fspath(path)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError as err:
        raise CofreConfigError(
            "COFRE_INPUT_INVALID", f"cannot create the token file {target}: {err.strerror or 'error'}"
        ) from None
    try:
        os.write(fd, (value + "\n").encode("utf-8"))
    finally:
        os.close(fd)
    return target
