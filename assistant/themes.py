"""Grouping papers into themes by their vectors, and naming the themes.

The related-work writer groups the papers it cites into 2-5 themes; the page's map colours the
whole collection by theme. Both use :func:`kmeans` on the papers' unit vectors
(:meth:`Searcher.paper_vectors`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from assistant.text import MAP_STOP


def theme_names(titles: Sequence[str], labels: np.ndarray, k: int) -> list[str]:
    """Name each cluster by its most frequent title words that are rarer elsewhere."""
    words = [
        {w for w in re.findall(r"[a-z][a-z0-9-]{2,}", t.lower()) if w not in MAP_STOP}
        for t in titles
    ]
    overall = Counter(w for ws in words for w in ws)
    names: list[str] = []
    for j in range(k):
        inside = Counter(
            w for ws, label in zip(words, labels, strict=True) if label == j for w in ws
        )
        best = sorted(inside, key=lambda w: (-(inside[w] ** 2) / overall[w], w))[:2]
        name = " / ".join(best) or f"theme {j + 1}"
        names.append(name if name not in names else f"{name} ({j + 1})")
    return names


def kmeans(x: np.ndarray, k: int, iterations: int = 50, seed: int = 0) -> np.ndarray:
    """Spherical k-means over unit rows; a cluster label per row."""
    centers = x[np.random.default_rng(seed).choice(len(x), size=k, replace=False)]
    for _ in range(iterations):
        labels = np.argmax(x @ centers.T, axis=1)
        moved = np.stack(
            [x[labels == j].mean(axis=0) if (labels == j).any() else centers[j] for j in range(k)]
        )
        moved /= np.linalg.norm(moved, axis=1, keepdims=True)
        if np.allclose(moved, centers):
            break
        centers = moved
    return np.argmax(x @ centers.T, axis=1)


def group(x: np.ndarray, k: int) -> list[list[int]]:
    """Row numbers of ``x`` (unit vectors) in ``k`` k-means groups, largest first. A group of
    one is no theme: its row joins the group whose centre is nearest."""
    labels = kmeans(x, k)
    members = [m for j in range(k) if (m := [i for i, lab in enumerate(labels) if lab == j])]
    while len(members) > 1 and min(len(m) for m in members) == 1:
        alone = min(range(len(members)), key=lambda j: len(members[j]))
        (i,) = members.pop(alone)
        centres = np.stack([x[m].mean(0) for m in members])
        members[int(np.argmax(centres @ x[i]))].append(i)
    return sorted(members, key=lambda m: -len(m))


def project_2d(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` on their first two principal components (PCA)."""
    centred = x - x.mean(axis=0)
    return centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T
