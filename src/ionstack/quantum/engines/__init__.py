"""Simulation engines behind :mod:`ionstack.quantum.simulate` (the only module that uses them).

* :mod:`.statevector`: plain numpy, complex128 — tiny circuits and the density-matrix path.
* :mod:`.qsim`: Google's qsim through its pybind module (complex64, gate fusion) — the
  large-circuit engine, chosen by measurement (bench/README.md).
* :mod:`.stabilizer`: stim — Clifford circuits of any width.
* :mod:`.trajectories`: error-pattern grouping for the depolarizing noise of semantics.md §4.
* :mod:`.density`: exact density matrices for small noisy circuits.

An *op* is ``(targets, controls, matrix)`` with ``matrix`` in the basis ``|t_0 t_1 …⟩``
(``targets[0]`` most significant); state vectors are little-endian (qubit q = bit q).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

Op: TypeAlias = tuple[tuple[int, ...], tuple[int, ...], npt.NDArray[np.complex128]]
Ops: TypeAlias = Sequence[Op]
