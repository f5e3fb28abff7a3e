"""Writing figures: the one ``save_figure`` every plotting function ends with."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from IPython.display import Image
from matplotlib.figure import Figure

from gsfm.files import atomic_write

__all__ = ["DPI", "save_figure"]

DPI: int = 110


def save_figure(
    fig: Figure, out_path: str | os.PathLike[str] | None, *, tight: bool = False
) -> Figure:
    """Write ``fig`` as a PNG at :data:`DPI` (atomically: no half-written file), close it, return it.

    Nothing is written when ``out_path`` is None. ``tight`` crops the canvas to the drawn
    artists (``bbox_inches="tight"``); figures that place their axes by hand leave it off.
    Closing keeps pyplot from accumulating figures in long notebook sessions.
    """
    if out_path is not None:
        out = Path(out_path)
        if out.suffix.lower() != ".png":
            raise ValueError(f"figures are written as .png, got {out}")
        extra = {"bbox_inches": "tight"} if tight else {}
        atomic_write(
            out, lambda p: fig.savefig(p, dpi=DPI, format="png", facecolor="white", **extra)
        )
    plt.close(fig)
    return fig


def figure_image(fig: Figure) -> Any:
    """``fig`` as an IPython PNG image: it displays as a picture whatever matplotlib backend
    the kernel ended up with (a bare Figure shows as ``<Figure ...>`` text under Agg)."""
    buf = io.BytesIO()
    fig.savefig(buf, dpi=DPI, format="png", facecolor="white")
    return Image(data=buf.getvalue(), format="png")
