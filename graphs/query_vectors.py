"""The query embedding computed while understanding a message, kept for the knowledge answer of the same
turn: a bounded cache owned by the agent's context, emptied when the turn ends."""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: building the context needs no numpy
    import numpy as np


class QueryVectors:
    """Request id → query vector; at most `max_entries` (the oldest go first), one turn's worth each."""

    def __init__(self, max_entries: int = 256) -> None:
        self._max = max_entries
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self._vectors)

    def keep(self, request_id: str, vector: np.ndarray) -> None:
        self._vectors[request_id] = vector
        self._vectors.move_to_end(request_id)
        while len(self._vectors) > self._max:
            self._vectors.popitem(last=False)

    def peek(self, request_id: str) -> np.ndarray | None:
        """The vector, left in place (a later node of the same turn may still use it)."""
        return self._vectors.get(request_id)

    def take(self, request_id: str) -> np.ndarray | None:
        """The vector, removed."""
        return self._vectors.pop(request_id, None)

    def forget(self, request_id: str) -> None:
        self._vectors.pop(request_id, None)
