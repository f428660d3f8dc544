"""What every figure of the project shares: the figure class, style, colours, messages and files.

Every function builds a `matplotlib.figure.Figure` with the object API (no ``pyplot`` state), so
it works headless (Agg), and returns it; the figures show themselves in notebooks (``_repr_png_``).
Figures are drawn at their printed size (at most 7 in wide: a two-column page) under `paper_style`
(every text ≥ 8 pt, mathtext for powers such as 2^N), and saved by `save_figure` as 200 dpi PNG
or vector PDF/SVG, byte-identical for identical figures (no dates or software strings).
"""

from __future__ import annotations

import functools
import io
import os
from pathlib import Path
from collections.abc import Sequence

import matplotlib
from matplotlib import image as mpl_image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..io import atomic_path

DPI = 200
FONT_SIZE = 8       # pt at the printed size, the smallest text of any figure
PAPER_STYLE = {"font.size": FONT_SIZE, "axes.titlesize": 9, "axes.labelsize": FONT_SIZE,
               "xtick.labelsize": FONT_SIZE, "ytick.labelsize": FONT_SIZE, "legend.fontsize": FONT_SIZE,
               "legend.title_fontsize": FONT_SIZE, "figure.titlesize": 10, "axes.unicode_minus": True,
               "lines.linewidth": 1.0, "axes.linewidth": 0.6, "xtick.major.width": 0.6,
               "ytick.major.width": 0.6, "legend.frameon": False, "pdf.fonttype": 42, "svg.hashsalt": "fixedpoints",
               # savefig's defaults, whatever a user's matplotlibrc says (the PNGs never read them)
               "savefig.facecolor": "auto", "savefig.edgecolor": "auto", "savefig.bbox": "standard",
               "savefig.transparent": False}
"""The rc settings every figure is drawn under (see `paper_style`)."""

STABLE_COLOR = "black"
TRAJECTORY_COLOR = "#9db4d3"   # light: trajectories are context under the fixed points
SLOW_COLOR = "#8c8c8c"
# saddle colours by index 1, 2, 3, ... (cycled for larger indices)
INDEX_COLORS = ("#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
MARGINAL_COLOR = "#7f7f7f"
# one colour per architecture in every figure of every sweep (Okabe–Ito: readable by colour-blind readers)
ARCH_COLORS = {"tanh": "#0072B2", "gru": "#E69F00", "lstm": "#009E73"}
OTHER_ARCH_COLOR = "#666666"
MINUS = "\N{MINUS SIGN}"


def paper_style(function):
    """Decorator: build the figure under `PAPER_STYLE` (fonts are fixed when the artists are made)."""

    @functools.wraps(function)
    def styled(*args, **kwargs):
        with matplotlib.rc_context(PAPER_STYLE):
            return function(*args, **kwargs)

    return styled


def arch_color(arch: str) -> str:
    """The colour of architecture ``arch`` (tanh blue, gru orange, lstm green; others grey)."""
    return ARCH_COLORS.get(str(arch).lower(), OTHER_ARCH_COLOR)


class NotebookFigure(Figure):
    """A `matplotlib.figure.Figure` that shows itself as a PNG in Jupyter/IPython (``_repr_png_``),
    whether or not ``pyplot`` or an inline backend was loaded."""

    def _repr_png_(self) -> bytes:
        with matplotlib.rc_context(PAPER_STYLE):
            return _png_bytes(self, DPI)


def index_color(k: int) -> str:
    """Colour of a saddle of index ``k`` ≥ 1 (grey for index 0 that is not stable, |λ| = 1)."""
    return MARGINAL_COLOR if k < 1 else INDEX_COLORS[(k - 1) % len(INDEX_COLORS)]


def fixed_point_title(n_stable: int, n_total: int, prefix: str | None = None) -> str:
    """``"{prefix}: {n_stable} stable / {n_total}"`` (or without the prefix)."""
    counts = f"{n_stable} stable / {n_total}"
    return f"{prefix}: {counts}" if prefix else counts


@paper_style
def plot_message(message: str, title: str | None = None, figsize=(5.0, 3.6)) -> Figure:
    """A figure with only a title and a centred ``message`` (gid ``"message"``): why nothing is drawn."""
    fig = NotebookFigure(figsize=figsize, dpi=DPI)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, fontsize=10, gid="message",
            transform=ax.transAxes)
    if title:
        ax.set_title(title)
    return fig


_METADATA = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None},
    "svg": {"Creator": None, "Date": None},
}


def _savefig_bytes(fig: Figure, fmt: str, dpi: int) -> bytes:
    """The figure in format ``fmt`` (pdf, svg) at ``dpi``, by `Figure.savefig`."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi, metadata=_METADATA[fmt])
    return buffer.getvalue()


def _png_bytes(fig: Figure, dpi: int) -> bytes:
    """The figure as PNG at ``dpi``, drawn once: the bytes of ``fig.savefig(format="png")``.

    Written by hand because `Figure.savefig` draws a figure that has a layout engine twice: once with
    rendering switched off, to lay it out, then again to render it. The Agg canvas's own draw lays the
    figure out inside its one draw, and Matplotlib's `~matplotlib.image.imsave` writes its pixels as
    savefig does (tests compare the bytes): about a seventh less time per figure. The figure's canvas
    and dpi are given back; the dpi changes only while the Agg canvas is the figure's, so a figure shown
    in a window is not resized.
    """
    canvas_before, dpi_before = fig.canvas, fig.dpi
    canvas = FigureCanvasAgg(fig)
    try:
        fig.dpi = dpi
        canvas._is_saving = True        # as savefig: animated artists are drawn too
        canvas.draw()
        buffer = io.BytesIO()
        mpl_image.imsave(buffer, canvas.buffer_rgba(), format="png", origin="upper", dpi=dpi,
                         metadata=_METADATA["png"])
        return buffer.getvalue()
    finally:
        fig.dpi = dpi_before
        fig.set_canvas(canvas_before)


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = DPI) -> Path:
    """Write ``fig`` to ``path`` (.png, .pdf or .svg) reproducibly and atomically; return the path.

    The file has no date or software string in its metadata and a fixed ``dpi``, so the same figure
    gives the same bytes; it is written to a temporary file in the target folder and renamed.
    """
    return save_figures(fig, [path], dpi)[0]


def save_figures(fig: Figure, paths: Sequence[str | os.PathLike], dpi: int = DPI) -> list[Path]:
    """`save_figure` to every path of ``paths``, drawing the figure once per format.

    The figure is laid out (constrained layout) once, when the first format is drawn; the other formats
    keep those positions, so the PNG and the PDF of a figure have the same layout, and a PDF after a PNG
    costs about a fifth less (the layout pass measures every text). The figure's layout engine is restored.
    """
    paths = [Path(path) for path in paths]
    formats = [path.suffix.lower().lstrip(".") for path in paths]
    for path, fmt in zip(paths, formats):
        if fmt not in _METADATA:
            raise ValueError(f"{path}: unsupported figure format {path.suffix!r}, expected one of "
                             f"{['.' + f for f in _METADATA]}")
    rendered: dict[str, bytes] = {}
    engine = fig.get_layout_engine()
    try:
        for path, fmt in zip(paths, formats):
            if fmt not in rendered:
                with matplotlib.rc_context(PAPER_STYLE):
                    rendered[fmt] = _png_bytes(fig, dpi) if fmt == "png" else _savefig_bytes(fig, fmt, dpi)
                if engine is not None:
                    fig.set_layout_engine("none")
            with atomic_path(path) as tmp_path:
                tmp_path.write_bytes(rendered[fmt])
    finally:
        if engine is not None:
            fig.set_layout_engine(engine)
    return paths
