"""Generated blocks in the project's markdown pages.

Some tables of the docs are written by code from committed files (the shipped weights'
manifest, the ablation tables, the small-object table), between two HTML comments, so that a
test can compare the page with its source and one call rewrites it. This module finds and
replaces such a block; every generator uses it.
"""

from __future__ import annotations

import os
from pathlib import Path

from gsfm.files import atomic_write_text

__all__ = ["read_block", "replace_block", "rewrite_block"]


def _split(text: str, begin: str, end: str, what: str) -> tuple[str, str, str]:
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise ValueError(
            f"{what} lacks the markers of its generated block ({begin} ... {end}), "
            "or holds them more than once or out of order"
        )
    head, rest = text.split(begin, 1)
    body, tail = rest.split(end, 1)
    return head, body, tail


def read_block(text: str, begin: str, end: str, what: str) -> str:
    """What stands between ``begin`` and ``end`` in ``text``, without the newlines around it;
    one error naming ``what`` (the file) when the markers are missing, repeated or reversed."""
    return _split(text, begin, end, what)[1].strip("\n")


def replace_block(text: str, begin: str, end: str, block: str, what: str) -> str:
    """``text`` with what stands between ``begin`` and ``end`` replaced by ``block`` (one line
    break after ``begin`` and before ``end``)."""
    head, _, tail = _split(text, begin, end, what)
    return f"{head}{begin}\n{block.strip(chr(10))}\n{end}{tail}"


def rewrite_block(path: str | os.PathLike[str], begin: str, end: str, block: str) -> bool:
    """Replace the block of the file ``path`` (atomically; the file is left as it was when the
    markers are wrong). Returns whether the file changed."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    new = replace_block(text, begin, end, block, str(path))
    if new != text:
        atomic_write_text(path, new)
    return new != text
