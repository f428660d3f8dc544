"""What every figure of the project shares: the figure class, colours, messages and reproducible files.

Every function builds a `matplotlib.figure.Figure` with the object API (no ``pyplot`` state), so
it works headless (Agg), and returns it; the figures show themselves in notebooks (``_repr_png_``).
`save_figure` writes PNG/PDF/SVG files that are byte-identical for identical figures (no dates or
software strings in the metadata).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from ..io import atomic_path

DPI = 100
STABLE_COLOR = "black"
TRAJECTORY_COLOR = "#4c72b0"
# saddle colours by index 1, 2, 3, ... (cycled for larger indices)
INDEX_COLORS = ("#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
MARGINAL_COLOR = "#7f7f7f"


class NotebookFigure(Figure):
    """A `matplotlib.figure.Figure` that shows itself as a PNG in Jupyter/IPython (``_repr_png_``),
    whether or not ``pyplot`` or an inline backend was loaded."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=DPI, metadata=_METADATA["png"])
        return buffer.getvalue()

def index_color(k: int) -> str:
    """Colour of a saddle of index ``k`` ≥ 1 (grey for index 0 that is not stable, |λ| = 1)."""
    return MARGINAL_COLOR if k < 1 else INDEX_COLORS[(k - 1) % len(INDEX_COLORS)]


def fixed_point_title(n_stable: int, n_total: int, prefix: str | None = None) -> str:
    """``"{prefix}: {n_stable} stable / {n_total}"`` (or without the prefix)."""
    counts = f"{n_stable} stable / {n_total}"
    return f"{prefix}: {counts}" if prefix else counts


def plot_message(message: str, title: str | None = None, figsize=(6.4, 5.2)) -> Figure:
    """A figure with only a title and a centred ``message`` (gid ``"message"``): why nothing is drawn."""
    fig = NotebookFigure(figsize=figsize, dpi=DPI)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, fontsize=11, gid="message",
            transform=ax.transAxes)
    if title:
        ax.set_title(title)
    return fig

_METADATA = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None},
    "svg": {"Creator": None, "Date": None},
}


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = DPI) -> Path:
    """Write ``fig`` to ``path`` (.png, .pdf or .svg) reproducibly and atomically; return the path.

    The file has no date or software string in its metadata and a fixed ``dpi``, so the same figure
    gives the same bytes; it is written to a temporary file in the target folder and renamed.
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in _METADATA:
        raise ValueError(f"{path}: unsupported figure format {path.suffix!r}, expected one of "
                         f"{['.' + f for f in _METADATA]}")
    with atomic_path(path) as tmp_path, open(tmp_path, "wb") as handle, \
            matplotlib.rc_context({"svg.hashsalt": "fixedpoints"}):
        fig.savefig(handle, format=fmt, dpi=dpi, metadata=_METADATA[fmt])
    return path
