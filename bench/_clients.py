"""The client side of ``bench/jobs.py --clients``: one case, timed, as JSON lines on stdout.

``bench/jobs.py`` runs this file as a subprocess with the interpreter of the venv that has the
library (``.venv-clients`` for the IonQ clients, whose ``ionq`` SDK needs pydantic 1; the
server's ``.venv`` for qiskit-aer), so each client runs exactly as a user would run it, in its
own process, with its own polling and waiting:

    python bench/_clients.py CASE --url http://127.0.0.1:PORT/v0.4 --key KEY [--runs 5]

Cases: ``aer`` (in-process qiskit-aer, the reference), ``qiskit-ionq``, ``ionq``, ``cirq-ionq``,
``pennylane-ionq``, ``qbraid`` (2-qubit Bell, 1000 shots) and ``qiskit-ionq-ghz5-aria1``
(5-qubit GHZ, ``noise_model="aria-1"``, 1000 shots). One warm-up run, then ``--runs`` timed
runs, each from submit to counts in hand. Every line printed is one JSON object:

- ``{"event": "version", "version": …, "python": …}``: the library's version and venv;
- ``{"event": "ready", "label": …, "setup_s": …}`` once the library is imported and set up;
- ``{"event": "run", "label": …, "warmup": bool, "seconds": …, "trace": [...]}`` per run;
- ``{"event": "missing", "error": …}`` when the library is not importable (exit 0);
- ``{"event": "timeout", "label": …, "seconds": …}`` when one run exceeds ``--timeout`` (exit 3;
  ``"during": "setup"`` when importing and setting up took over ``SETUP_S + --timeout``).

``trace`` is what the client did during the run, for reading its polling: every HTTP request
(``requests`` is patched: method, path, start offset and duration in ms, and the job status a
``GET /jobs/{id}`` answered) and every ``time.sleep`` (patched before any client is imported,
so ``from time import sleep`` gets the recording one too), offsets from the run's start.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, SupportsIndex

# This file's directory holds other bench scripts (console.py, metrics.py…): never import them.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

SHOTS = 1000
SETUP_S = 120.0  # added to --timeout for importing and setting up the client
_EVENTS: list[dict[str, Any]] = []
_T0 = [time.perf_counter()]
_real_sleep = time.sleep


def _ms(t: float) -> float:
    return round((t - _T0[0]) * 1e3, 1)


def _recording_sleep(seconds: float | SupportsIndex) -> None:
    _EVENTS.append({"at": _ms(time.perf_counter()), "sleep": seconds})
    _real_sleep(seconds)


time.sleep = _recording_sleep


def _trace_requests() -> None:
    """Record every request made through ``requests`` (all five clients use it)."""
    try:
        import requests
    except ImportError:
        return
    send = requests.Session.send

    def traced(self: Any, request: Any, **kwargs: Any) -> Any:
        begun = time.perf_counter()
        response = send(self, request, **kwargs)
        path = re.sub(r"^https?://[^/]+", "", str(request.url)).split("?")[0]
        event: dict[str, Any] = {
            "at": _ms(begun),
            "http": f"{request.method} {path}",
            "ms": round((time.perf_counter() - begun) * 1e3, 1),
        }
        if request.method == "GET" and re.search(r"/jobs/[^/]+$", path):
            try:
                event["status"] = response.json().get("status")
            except Exception:  # tracing must never break the client
                pass
        _EVENTS.append(event)
        return response

    requests.Session.send = traced  # type: ignore[method-assign]


class RunTimeout(BaseException):  # not swallowed by a client's `except Exception`
    pass


def _on_alarm(signum: int, frame: Any) -> None:
    raise RunTimeout


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def timed(label: str, once: Callable[[], dict[str, Any]], *, runs: int, timeout: float) -> None:
    """One warm-up run, then ``runs`` timed runs of ``once`` (each bounded by ``timeout``)."""
    for i in range(runs + 1):
        _EVENTS.clear()
        _T0[0] = begun = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            counts = once()
        except RunTimeout:
            emit(event="timeout", label=label, seconds=timeout, trace=list(_EVENTS))
            sys.exit(3)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        seconds = time.perf_counter() - begun
        total = sum(int(v) for v in counts.values())
        emit(
            event="run",
            label=label,
            warmup=i == 0,
            seconds=seconds,
            shots=total,
            outcomes=len(counts),
            trace=list(_EVENTS),
        )


# --- circuits ---------------------------------------------------------------------------------


def qiskit_circuit(n: int) -> Any:
    """Bell (n=2) or GHZ(n), measured into n classical bits."""
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(n, n, name=f"ghz{n}")
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    qc.measure(range(n), range(n))
    return qc


BELL_QIS = [{"gate": "h", "target": 0}, {"gate": "cnot", "control": 0, "target": 1}]
BELL_QASM3 = """OPENQASM 3.0;
include "stdgates.inc";
qubit[2] q;
bit[2] c;
h q[0];
cx q[0], q[1];
c = measure q;
"""


# --- cases ------------------------------------------------------------------------------------


def case_aer(args: argparse.Namespace) -> None:
    """In-process qiskit-aer: Bell (a) transpile + run, (b) run alone; GHZ-5 with noise."""
    from qiskit import transpile
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel, depolarizing_error

    simulator = AerSimulator()
    bell = qiskit_circuit(2)
    compiled = transpile(bell, simulator)
    # aria-1's rates as ionstack models them (src/ionstack/quantum/noise.py): depolarizing
    # r1 = 0.0005 after every 1q gate, r2 = 0.0133 after every 2q gate (Aer's parameter is r).
    noise = NoiseModel()
    noise.add_all_qubit_quantum_error(depolarizing_error(0.0005, 1), ["h", "sx", "x", "rz"])
    noise.add_all_qubit_quantum_error(depolarizing_error(0.0133, 2), ["cx"])
    noisy = AerSimulator(noise_model=noise)
    ghz = qiskit_circuit(5)
    ghz_compiled = transpile(ghz, noisy)
    emit(event="ready", label="aer", setup_s=time.perf_counter() - STARTED)

    def counts(sim: Any, circuit: Any) -> dict[str, Any]:
        result: dict[str, Any] = sim.run(circuit, shots=SHOTS).result().get_counts()
        return result

    # Each is microseconds to milliseconds: many more runs than the clients, for a stable median.
    runs = max(args.runs, 20)
    for label, once in (
        ("aer-transpile-run", lambda: counts(simulator, transpile(bell, simulator))),
        ("aer-run", lambda: counts(simulator, compiled)),
        ("aer-ghz5-transpile-run", lambda: counts(noisy, transpile(ghz, noisy))),
        ("aer-ghz5-run", lambda: counts(noisy, ghz_compiled)),
    ):
        timed(label, once, runs=runs, timeout=args.timeout)


def case_qiskit_ionq(args: argparse.Namespace, *, ghz_noisy: bool = False) -> None:
    import qiskit_ionq.helpers

    # A .env above qiskit-ionq's install directory would override the environment (README).
    qiskit_ionq.helpers.dotenv_values = lambda *a, **k: {}
    os.environ["IONQ_API_URL"] = args.url  # backend sizing GETs ignore url=
    from qiskit_ionq import IonQProvider

    provider = IonQProvider(token=args.key, url=args.url)
    backend = provider.get_backend("simulator")
    if ghz_noisy:
        backend.set_options(noise_model="aria-1")
    circuit = qiskit_circuit(5 if ghz_noisy else 2)
    label = "qiskit-ionq-ghz5-aria1" if ghz_noisy else "qiskit-ionq"
    emit(event="ready", label=label, setup_s=time.perf_counter() - STARTED)

    def once() -> dict[str, Any]:
        counts: dict[str, Any] = backend.run(circuit, shots=SHOTS).result().get_counts()
        return counts

    timed(label, once, runs=args.runs, timeout=args.timeout)


def case_ionq(args: argparse.Namespace) -> None:
    import ionq

    client = ionq.Client(api_key=args.key, base_url=args.url)
    backend = ionq.Backend("simulator", client=client)
    circuit = ionq.Circuit([{"circuit": BELL_QIS}], qubits=2)
    emit(event="ready", label="ionq", setup_s=time.perf_counter() - STARTED)

    def once() -> dict[str, Any]:
        (result,) = backend.run(circuit, shots=SHOTS).results()
        return dict(result.counts or {})

    timed("ionq", once, runs=args.runs, timeout=args.timeout)


def case_cirq_ionq(args: argparse.Namespace) -> None:
    import cirq
    import cirq_ionq

    root = args.url.rsplit("/v0.4", 1)[0]  # cirq-ionq wants the host and appends /v0.4
    service = cirq_ionq.Service(remote_host=root, api_key=args.key)
    q0, q1 = cirq.LineQubit.range(2)
    circuit = cirq.Circuit(cirq.H(q0), cirq.CNOT(q0, q1), cirq.measure(q0, q1, key="x"))
    emit(event="ready", label="cirq-ionq", setup_s=time.perf_counter() - STARTED)

    def once() -> dict[str, Any]:
        result = service.run(circuit, repetitions=SHOTS, target="simulator")
        return {format(k, "02b"): v for k, v in result.histogram(key="x").items()}

    timed("cirq-ionq", once, runs=args.runs, timeout=args.timeout)


def case_pennylane_ionq(args: argparse.Namespace) -> None:
    import pennylane as qml
    import pennylane_ionq.api_client

    pennylane_ionq.api_client.APIClient.BASE_URL = args.url
    device = qml.device("ionq.simulator", wires=2, shots=SHOTS, api_key=args.key)

    @qml.qnode(device)
    def bell() -> Any:
        qml.Hadamard(wires=0)
        qml.CNOT(wires=[0, 1])
        return qml.counts(wires=[0, 1])

    emit(event="ready", label="pennylane-ionq", setup_s=time.perf_counter() - STARTED)

    def once() -> dict[str, Any]:
        return {str(k): int(v) for k, v in bell().items()}

    timed("pennylane-ionq", once, runs=args.runs, timeout=args.timeout)


def case_qbraid(args: argparse.Namespace) -> None:
    from qbraid.runtime import IonQProvider

    provider = IonQProvider(api_key=args.key)
    provider.session.base_url = args.url  # the session's base URL is https://api.ionq.co/v0.4
    device = provider.get_device("simulator")
    emit(event="ready", label="qbraid", setup_s=time.perf_counter() - STARTED)

    def once() -> dict[str, Any]:
        counts: dict[str, Any] = device.run(BELL_QASM3, shots=SHOTS).result().data.get_counts()
        return counts

    timed("qbraid", once, runs=args.runs, timeout=args.timeout)


CASES: dict[str, tuple[str, Callable[[argparse.Namespace], None]]] = {
    "aer": ("qiskit_aer", case_aer),
    "qiskit-ionq": ("qiskit_ionq", case_qiskit_ionq),
    "qiskit-ionq-ghz5-aria1": ("qiskit_ionq", lambda a: case_qiskit_ionq(a, ghz_noisy=True)),
    "ionq": ("ionq", case_ionq),
    "cirq-ionq": ("cirq_ionq", case_cirq_ionq),
    "pennylane-ionq": ("pennylane_ionq", case_pennylane_ionq),
    "qbraid": ("qbraid", case_qbraid),
}
#: The distribution whose version the ``version`` line reports.
DISTRIBUTIONS = {
    "aer": "qiskit-aer",
    "qiskit-ionq": "qiskit-ionq",
    "qiskit-ionq-ghz5-aria1": "qiskit-ionq",
    "ionq": "ionq",
    "cirq-ionq": "cirq-ionq",
    "pennylane-ionq": "pennylane-ionq",
    "qbraid": "qbraid",
}
STARTED = time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("--url", default="", help="the API base, http://127.0.0.1:PORT/v0.4")
    parser.add_argument("--key", default="")
    parser.add_argument("--runs", type=int, default=5, help="timed runs after one warm-up")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per run")
    args = parser.parse_args()
    module, case = CASES[args.case]
    distribution = DISTRIBUTIONS[args.case]
    warnings.simplefilter("ignore")  # the clients' deprecation chatter is not ours to show
    import importlib.util

    if importlib.util.find_spec(module) is None:
        emit(event="missing", error=f"no module named {module!r} in {sys.prefix}")
        return
    from importlib.metadata import PackageNotFoundError, version

    with contextlib.suppress(PackageNotFoundError):
        emit(event="version", version=version(distribution), python=sys.prefix)
    _trace_requests()
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, SETUP_S + args.timeout)  # imports and setup
    try:
        try:
            case(args)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except RunTimeout:
        emit(event="timeout", label=args.case, seconds=SETUP_S + args.timeout, during="setup")
        sys.exit(3)
    except ImportError as error:
        emit(event="missing", error=f"{type(error).__name__}: {error}")


if __name__ == "__main__":
    main()
