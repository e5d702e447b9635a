"""The ranking-curve artefact: HR@K and NDCG@K for K = 1..50, the model against the baselines."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .ranking import curves

MAX_K = 50
TITLES = {"sampled": "true item vs sampled negatives", "full": "full catalogue"}


def curve_table(ranks: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, dict]]:
    """``{kind: {name: {"hr": [...], "ndcg": [...]}}}`` for K = 1..MAX_K."""
    table: dict[str, dict[str, dict]] = {}
    for name, by_kind in ranks.items():
        for kind, r in by_kind.items():
            hr, nd = curves(r, MAX_K)
            table.setdefault(kind, {})[name] = {"hr": hr.round(6).tolist(),
                                                "ndcg": nd.round(6).tolist()}
    return table


def write_curves(ranks: dict[str, dict[str, np.ndarray]], run_dir: Path,
                 title: str) -> list[Path]:
    """``ranking_curves.png`` (a row per candidate set) and the numbers in ``.json``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = curve_table(ranks)
    kinds = [k for k in ("sampled", "full") if k in table]
    ks = np.arange(1, MAX_K + 1)
    fig, axes = plt.subplots(len(kinds), 2, figsize=(10, 3.6 * len(kinds)), squeeze=False)
    try:
        for row, kind in enumerate(kinds):
            for col, metric in enumerate(("hr", "ndcg")):
                ax = axes[row, col]
                for name, values in table[kind].items():
                    ax.plot(ks, values[metric], label=name,
                            linewidth=2.2 if name == "model" else 1.2)
                ax.set_xlabel("K")
                ax.set_ylabel(f"{metric.upper()}@K")
                ax.set_title(f"{metric.upper()}@K, {TITLES[kind]}", fontsize=9)
                ax.grid(alpha=0.3)
                ax.legend(fontsize=8)
        fig.suptitle(title, fontsize=9)
        fig.tight_layout()
        png = Path(run_dir) / "ranking_curves.png"
        fig.savefig(png, dpi=90)
    finally:
        plt.close(fig)
    data = Path(run_dir) / "ranking_curves.json"
    data.write_text(json.dumps({"k": ks.tolist(), "curves": table}, indent=1) + "\n",
                    encoding="utf-8")
    return [png, data]
