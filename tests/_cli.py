"""Helpers of the command-line safety tests: a folder's contents as digests, and the one-line
error a refused command prints."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any


def tree(root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``root`` (folders as "dir")."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file()
        else "dir"
        for p in sorted(root.rglob("*"))
    }


def one_error(capsys: Any, *needles: str) -> str:
    """The command printed one line, ``error: ...``, holding every needle and no traceback."""
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)
    return err
