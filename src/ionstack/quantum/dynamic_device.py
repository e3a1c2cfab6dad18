"""A QPU's device model on dynamic programs (issue 17): the timeline of an ``ionq.qasm3.v1`` run.

An emulated ``qpu.*`` backend runs a dynamic program (mid-circuit measurement, reset,
feed-forward) under the same :class:`~ionstack.quantum.device.DeviceModel` as an ordinary
circuit (:func:`ionstack.quantum.device.locations`), walked along the program as
:func:`ionstack.quantum.dynamic_code.flatten` emits it:

* **Gates**: each native gate is :func:`~ionstack.quantum.device.gate_location`, the same as
  for circuits: 2q gates over-rotated by ``overrotation`` with the static sign of their
  physical pair (``pair_sign``), then the stochastic depolarizing error of the gate's arity.
* **Idle relaxation and dephasing**: operations run one at a time, as for circuits; a qubit
  idles while other qubits' operations run, and its idle time is emitted as the Pauli channels
  of :func:`~ionstack.quantum.device.idle_locations` just before its next operation. The
  durations: ``time_1q``/``time_2q`` for gates, ``time_readout`` (the characterization's
  ``timing.readout``) for a mid-circuit measurement, ``time_reset`` (``timing.reset``) for a
  reset. A measurement whose bit is read from the final sample (a *deferred* one:
  :func:`~ionstack.quantum.dynamic_code.deferred_measures`) is part of the simultaneous final
  readout and, as for circuits, adds no idle time.
* **Which qubits idle**: a qubit idles from its first gate on, as for circuits (relaxation and
  dephasing do nothing to ``|0⟩``, and their Pauli twirl must not flip it); a reset returns it
  to that state (``|0⟩`` exactly, so the time until its next gate is not idle either); a
  measurement leaves it as it was.
* **Feed-forward**: the time spent depends on the branch taken, so every pending idle window is
  emitted before an ``if`` (all paths share it) and again at the end of each body (the path's
  own), leaving nothing pending where the paths join. Cutting a window in two is exact: the
  Pauli channels of consecutive windows of one qubit compose to the channel of the whole
  window. Where the paths join, a qubit counts as started if it is on either path.
* **Reset** is a physical operation of its own (optical pumping to ``|0⟩``): it resets the qubit
  whatever the bit a previous measurement recorded, misread or not. It is noiseless (the
  characterization's SPAM figure is carried by the readout error).

The readout error (``readout_p01`` for a 0, ``readout_p10`` for a 1, on every recorded bit,
mid-circuit ones included: an ``if`` follows the recorded bit) is applied by
:mod:`ionstack.quantum.dynamic`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ionstack.quantum.circuit import Gate
from ionstack.quantum.device import DeviceModel, Location, gate_location, idle_locations


class Timeline:
    """The device model's locations along a dynamic program, in emission order."""

    def __init__(self, model: DeviceModel, n: int) -> None:
        self.model = model
        self.n = n
        self.phys: Sequence[int] = model.qubit_map or tuple(range(n))
        self.pending = [0.0] * n
        self.started = [False] * n

    def _elapse(self, busy: Sequence[int], duration: float) -> None:
        if duration <= 0:
            return
        for q in range(self.n):
            if q not in busy:
                self.pending[q] += duration

    def _flush(self, q: int) -> list[Location]:
        t, self.pending[q] = self.pending[q], 0.0
        return idle_locations(self.model, q, t) if self.started[q] else []

    def flush_all(self) -> list[Location]:
        """Every qubit's pending idle window (before an ``if``, at the end of a body, at the
        end of the program)."""
        out: list[Location] = []
        for q in range(self.n):
            out.extend(self._flush(q))
        return out

    def gate(self, g: Gate) -> list[Location]:
        """A native gate: its qubits' idle windows, then the gate as the device runs it."""
        if g.name == "nop":
            self._elapse((), (g.time or 0.0) * 1e-6)
            return []
        out: list[Location] = []
        for q in g.targets:
            out.extend(self._flush(q))
        out.append(gate_location(self.model, g, self.phys))
        self._elapse(g.targets, self.model.time_1q if len(g.targets) == 1 else self.model.time_2q)
        for q in g.targets:
            self.started[q] = True
        return out

    def measure(self, q: int) -> list[Location]:
        """A mid-circuit measurement of ``q``: its idle window, then ``time_readout`` for the
        others."""
        out = self._flush(q)
        self._elapse((q,), self.model.time_readout)
        return out

    def reset(self, q: int) -> None:
        """A reset of ``q``: back to ``|0⟩`` (not idling until its next gate), ``time_reset``
        for the others."""
        self.pending[q] = 0.0
        self.started[q] = False
        self._elapse((q,), self.model.time_reset)

    def fork(self) -> tuple[list[Location], list[bool]]:
        """Before an ``if``: the pending windows, and the started qubits each path begins with."""
        return self.flush_all(), list(self.started)

    def end_path(self, at_fork: list[bool]) -> tuple[list[Location], list[bool]]:
        """At the end of a body: its pending windows and started qubits; the timeline is put
        back as it was at the fork for the other path."""
        out, started = self.flush_all(), self.started
        self.started = list(at_fork)
        return out, started

    def join(self, *paths: list[bool]) -> None:
        """Where the paths meet: a qubit is started if it is on some path."""
        self.started = [any(s) for s in zip(*paths, strict=True)]
