"""The per-epoch AP curve of a training run, from its ``mAP.txt`` (docs/training.md)."""
from __future__ import annotations

import os
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def save_figure(fig: Figure, out_png: str | Path, dpi: int = 150) -> Path:
    """Render ``fig`` with Agg to ``out_png`` atomically (temporary file, then rename)."""
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_png.with_name(f".{out_png.stem}.tmp.png")
    FigureCanvasAgg(fig)
    try:
        fig.savefig(tmp, dpi=dpi, format="png")
        os.replace(tmp, out_png)
    finally:
        tmp.unlink(missing_ok=True)
    return out_png


def selected_epoch(rows: list[tuple[int, float, float]]) -> int:
    """Position in ``rows`` of the epoch ``best_checkpoint.pth`` holds: the highest
    without-best-match AP, the first one on ties (training saves only on a strict improvement)."""
    return max(range(len(rows)), key=lambda i: (rows[i][1], -i))


def plot_map_curve(map_txt_path: str | Path, out_png: str | Path, title: str | None = None) -> Path:
    """Plot both columns of ``mAP.txt`` (AP without / with best match, in %) per epoch.

    The epoch that ``best_checkpoint.pth`` comes from (highest without-best-match AP, first one
    on ties, as the training loop selects it) is marked. ``title`` defaults to the run folder's
    name. Raises ValueError (one line, naming the file) when the file holds no epoch.
    """
    from opec.evaluation.map_file import read_map_file  # evaluation is not needed for drawing

    map_txt_path = Path(map_txt_path)
    rows = read_map_file(map_txt_path)
    if not rows:
        raise ValueError(f"{map_txt_path}: no epoch lines (expected 'epoch<TAB>AP<TAB>AP_best')")
    epochs = [r[0] for r in rows]
    plain = [100 * r[1] for r in rows]
    best = [100 * r[2] for r in rows]
    pick = selected_epoch(rows)

    fig = Figure(figsize=(7, 4.2))
    ax = fig.add_subplot()
    ax.plot(epochs, plain, "o-", color="#1f6fd1", lw=2, ms=4, label="without best match")
    ax.plot(epochs, best, "s--", color="#e07b00", lw=2, ms=4, label="use best match")
    ax.plot([epochs[pick]], [plain[pick]], marker="*", ms=16, color="#c0392b", ls="none",
            label=f"best_checkpoint: epoch {epochs[pick]} ({plain[pick]:.2f})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("AP (%)")
    ax.set_title(title or f"{map_txt_path.resolve().parent.name}: test AP per epoch")
    ax.grid(True, alpha=0.3)
    if len(epochs) < 30:
        ax.set_xticks(epochs)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return save_figure(fig, out_png)
