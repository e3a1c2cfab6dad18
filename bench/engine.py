"""ionstack's simulation engine path against the fastest library called directly (issue 4 §7).

Usage::

    .venv/bin/python bench/engine.py            # full run (~10 min on 2 cores, < 5 GiB)
    .venv/bin/python bench/engine.py --quick    # smaller sizes, about a minute
    .venv/bin/python bench/engine.py --json out.json

Workloads, each measured side by side in one run (every measurement in its own subprocess so
memory and imports do not leak between them; threads = ``--threads``):

(a) 28-qubit depth-10 random circuit (engines.md's circuit), exact ideal probabilities:
    ``ionstack.quantum.run(shots=None)`` vs qsim (single precision, ``max_fused_gate_size=4``)
    through qsimcirq's ``simulate_into_1d_array`` and through its pybind module, probabilities
    ``re²+im²``. Also the fused memory-bandwidth floor (10 passes of ``a *= c`` over the
    complex64 state with the same threads). Goal: ≤ 1.2× the fastest library.
(b) 14-qubit depth-10 with aria-1 noise, 1000 shots: ``run(noise=aria-1)`` (compile + error
    pattern grouping) vs qsim's per-shot trajectories (qsimcirq ``run`` on the same compiled
    native circuit with ``cirq.depolarize(3r₁/4)``/``(15r₂/16, n_qubits=2)`` after every gate),
    1 and 2 threads, the faster counted. Goal: ≤ 0.5×.
(c) 2-qubit Bell, 1000 shots, per call (repeated): ``run(circuit, shots=1000, seed=i)`` on a
    parsed circuit vs qulacs and lightning.qubit raw bindings (build + simulate + seeded
    1000-shot sampling), interleaved rounds; ratio = median over rounds of ionstack's time over
    the lower library's time in the same round. Goal: ≤ 2× the lowest.

(d) 36 qubits (issue 16 §5; ``--only d``): GHZ under forte-1 noise, and a depth-4 random
    circuit with a nearest-neighbour CNOT brick ideal and under forte-1 noise, 1000 shots:
    ``run`` (stim, matrix-product states) against Aer's MPS method and quimb's ``CircuitMPS``
    (when importable), time and the peak resident memory each run adds.
(e) Dynamic circuit (issue 15): 12-qubit depth-10 random circuit with 3 mid-circuit
    measurements (qubits 0, 3, 6 after layers 2, 5, 7, each used again afterwards), 1000 shots,
    ``run_program`` on the parsed OpenQASM 3, ideal and aria-1: vs the same circuit with
    terminal measurements only (``run_program`` too, which runs it on the circuit engine; goal
    ≤ 10×) and vs qiskit-aer running the dynamic circuit (``AerSimulator`` statevector, built
    with ``measure`` mid-circuit; noisy: ``depolarizing_error(r₁, 1)`` on rx/ry/rz and
    ``(r₂, 2)`` on cx, the same rates on the QIS gates). Per side: median of ``--reps`` runs
    (ours after a warm-up), in its own subprocess; parsing excluded.

Times are wall-clock medians: of the runs (a, b; run in rounds, each round measuring every
side once in turn), of the per-call means of the rounds (c; the best round is printed too).
Other processes share the CPU on a busy machine: the load average is printed with the
results, and the ratios, measured side by side, are what to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from _circuits import bell, qasm3_layers, random_layers  # noqa: E402

#: Workload (e): the layers after which qubits 0, 3, 6 are measured mid-circuit.
DYNAMIC_MEASURE_AFTER = (2, 5, 7)

# --------------------------------------------------------------------------- workers


def _parse(n: int, seed: int) -> Any:
    from ionstack.quantum import parse_circuit

    return parse_circuit(random_layers(n, 10, seed), gateset="qis", qubits=n)


def _engines_ops(n: int, seed: int) -> list[tuple[tuple[int, ...], Any]]:
    """(qubits, matrix) per gate of the same circuit, for the direct library calls."""
    from ionstack.quantum import gates

    return [(g.qubits, gates.gate_matrix(g, "qis")) for g in _parse(n, seed).gates]


def ideal_ours(task: dict[str, Any]) -> dict[str, Any]:
    from ionstack.quantum import run

    c = _parse(task["n"], task["seed"])
    t0 = time.perf_counter()
    r = run(c, shots=None, noise=None, seed=1, threads=task["threads"])
    return {
        "seconds": time.perf_counter() - t0,
        "engine": r.engine,
        "entries": len(r.probabilities),
    }


def ideal_qsimcirq(task: dict[str, Any]) -> dict[str, Any]:
    import cirq
    import numpy as np
    import qsimcirq

    n = task["n"]
    q = [cirq.LineQubit(n - 1 - i) for i in range(n)]  # LineQubit(0) is cirq's most significant
    ops = [cirq.MatrixGate(m).on(*[q[i] for i in qs]) for qs, m in _engines_ops(n, task["seed"])]
    circuit = cirq.Circuit(ops)
    options = qsimcirq.QSimOptions(cpu_threads=task["threads"], max_fused_gate_size=4)
    sim = qsimcirq.QSimSimulator(qsim_options=options)
    t0 = time.perf_counter()
    _, state, _ = sim.simulate_into_1d_array(circuit, qubit_order=sorted(q))
    probs = state.real * state.real + state.imag * state.imag
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "norm": float(np.sum(probs, dtype=np.float64))}


def ideal_qsim_raw(task: dict[str, Any]) -> dict[str, Any]:
    import numpy as np
    from qsimcirq import qsim

    n = task["n"]
    circuit = qsim.Circuit()
    circuit.num_qubits = n
    for t, (qs, m) in enumerate(_engines_ops(n, task["seed"])):
        flat = np.stack((m.real, m.imag), axis=-1).ravel().tolist()
        qsim.add_matrix_gate(t, list(qs), flat, circuit)
    options = {
        "f": 4,
        "t": task["threads"],
        "r": 1,
        "g": False,
        "gmode": 0,
        "gsst": 512,
        "gdb": 16,
        "v": 0,
        "z": False,
        "s": 1,
        "c": circuit,
    }
    t0 = time.perf_counter()
    state = qsim.qsim_simulate_fullstate(options, 0).view(np.complex64)
    probs = state.real * state.real + state.imag * state.imag
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "norm": float(np.sum(probs, dtype=np.float64))}


def bandwidth(task: dict[str, Any]) -> dict[str, Any]:
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    a = np.ones(1 << task["n"], dtype=np.complex64)
    parts = np.array_split(a, task["threads"])

    def touch(x: Any) -> None:
        x *= np.complex64(1.0000001)

    times = []
    with ThreadPoolExecutor(task["threads"]) as pool:
        for _ in range(6):
            t0 = time.perf_counter()
            list(pool.map(touch, parts))
            times.append(time.perf_counter() - t0)
    return {"seconds": statistics.median(times[1:])}


def noisy_ours(task: dict[str, Any]) -> dict[str, Any]:
    from ionstack.quantum import noise_model, run

    c = _parse(task["n"], task["seed"])
    t0 = time.perf_counter()
    r = run(c, shots=task["shots"], noise=noise_model("aria-1"), seed=7, threads=task["threads"])
    return {
        "seconds": time.perf_counter() - t0,
        "method": r.method,
        "engine": r.engine,
        "distinct": len(r.histogram or {}),
    }


def noisy_qsim(task: dict[str, Any]) -> dict[str, Any]:
    import cirq
    import qsimcirq

    from ionstack.quantum import compile_native, gates, noise_model

    n, model = task["n"], noise_model("aria-1")
    native = compile_native(_parse(n, task["seed"]), family="ms", drop_final_z=True)
    q = [cirq.LineQubit(n - 1 - i) for i in range(n)]
    ops: list[Any] = []
    for g in native.gates:
        targets = [q[i] for i in g.targets]
        ops.append(cirq.MatrixGate(gates.gate_matrix(g, "native")).on(*targets))
        if len(targets) == 1:
            ops.append(cirq.depolarize(3 * model.p1q / 4).on(*targets))
        else:
            ops.append(cirq.depolarize(15 * model.p2q / 16, n_qubits=2).on(*targets))
    circuit = cirq.Circuit(ops)
    circuit.append(cirq.measure(*q, key="m"))
    options = qsimcirq.QSimOptions(cpu_threads=task["threads"], max_fused_gate_size=2)
    sim = qsimcirq.QSimSimulator(qsim_options=options, seed=11)
    t0 = time.perf_counter()
    sim.run(circuit, repetitions=task["shots"])
    return {"seconds": time.perf_counter() - t0, "native_gates": len(native.gates)}


def bell_calls(task: dict[str, Any]) -> dict[str, Any]:
    import pennylane_lightning.lightning_qubit_ops as lightning
    import qulacs

    from ionstack.quantum import parse_circuit, run

    circuit = parse_circuit(bell(), gateset="qis", qubits=2)

    def ours(i: int) -> Any:
        return run(circuit, shots=1000, noise=None, seed=i + 1)

    def ours_with_parse(i: int) -> Any:
        return run(
            parse_circuit(bell(), gateset="qis", qubits=2), shots=1000, noise=None, seed=i + 1
        )

    def qulacs_raw(i: int) -> Any:
        c = qulacs.QuantumCircuit(2)
        c.add_H_gate(0)
        c.add_CNOT_gate(0, 1)
        s = qulacs.QuantumState(2)
        c.update_quantum_state(s)
        return s.sampling(1000, i + 1)

    def lightning_raw(i: int) -> Any:
        sv = lightning.StateVectorC128(2)
        sv.Hadamard([1], False, [])  # lightning wire 0 is the most significant
        sv.CNOT([1, 0], False, [])
        m = lightning.MeasurementsC128(sv)
        m.set_random_seed(i + 1)
        return m.generate_samples(2, 1000)

    fns = {
        "ionstack": ours,
        "ionstack+parse": ours_with_parse,
        "qulacs": qulacs_raw,
        "lightning": lightning_raw,
    }
    rounds: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():  # warm-up
        fn(0)
    for _ in range(task["rounds"]):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for i in range(task["calls"]):
                fn(i)
            rounds[name].append((time.perf_counter() - t0) / task["calls"])
    lowest = [min(q, li) for q, li in zip(rounds["qulacs"], rounds["lightning"], strict=True)]
    return {
        "round_ratios": [o / lo for o, lo in zip(rounds["ionstack"], lowest, strict=True)],
        "per_call": {k: statistics.median(v) for k, v in rounds.items()},
        "best": {k: min(v) for k, v in rounds.items()},
    }


def _dynamic_qiskit(n: int, seed: int, measure_after: tuple[int, ...]) -> Any:
    """The (d) circuit for qiskit-aer: the same gates and measurements as ``qasm3_layers``."""
    from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister

    regs = [QuantumRegister(n, "q"), ClassicalRegister(n, "c")]
    if measure_after:
        regs.append(ClassicalRegister(len(measure_after), "m"))
    qc = QuantumCircuit(*regs)
    gates = random_layers(n, 10, seed)
    i = 0
    for layer in range(10):
        count = 3 * n + len(range(layer % 2, n - 1, 2))
        for g in gates[i : i + count]:
            if g["gate"] == "cnot":
                qc.cx(g["control"], g["target"])
            else:
                getattr(qc, g["gate"])(g["rotation"], g["target"])
        i += count
        for k, after in enumerate(measure_after):
            if after == layer:
                qc.measure((3 * k) % n, regs[2][k])
    qc.measure(range(n), regs[1])
    return qc


def dynamic_case(task: dict[str, Any]) -> dict[str, Any]:
    """One side of workload (d): median seconds of ``reps`` runs after a warm-up."""
    from ionstack.quantum import noise_model
    from ionstack.quantum.dynamic import run_program
    from ionstack.quantum.qasm3 import parse_program

    n, seed, shots, side = task["n"], task["seed"], task["shots"], task["side"]
    after = DYNAMIC_MEASURE_AFTER if side != "terminal" else ()
    model = noise_model(task["noise"]) if task["noise"] else None
    detail: dict[str, Any] = {}
    if side == "aer":
        from qiskit_aer import AerSimulator
        from qiskit_aer.noise import NoiseModel, depolarizing_error

        qc = _dynamic_qiskit(n, seed, after)
        options: dict[str, Any] = {"method": "statevector", "max_parallel_threads": task["threads"]}
        if model is not None:
            aer_noise = NoiseModel()
            aer_noise.add_all_qubit_quantum_error(
                depolarizing_error(model.p1q, 1), ["rx", "ry", "rz"]
            )
            aer_noise.add_all_qubit_quantum_error(depolarizing_error(model.p2q, 2), ["cx"])
            options["noise_model"] = aer_noise
        sim = AerSimulator(**options)

        def once(i: int) -> Any:
            return sim.run(qc, shots=shots, seed_simulator=1000 + i).result()

    else:
        program = parse_program(qasm3_layers(n, 10, seed, measure_after=after))

        def once(i: int) -> Any:
            return run_program(
                program, shots=shots, noise=model, seed=1000 + i, threads=task["threads"]
            )

        r = once(0)  # warm-up (imports, caches); Aer's runs take seconds: none there
        detail = {"method": r.method, "engine": r.engine, "dynamic": program.dynamic}
    times = []
    for i in range(task["reps"]):
        t0 = time.perf_counter()
        once(i + 1)
        times.append(time.perf_counter() - t0)
    return {"seconds": statistics.median(times), "runs": times, **detail}


def crossover(task: dict[str, Any]) -> dict[str, Any]:
    """Per-call time of the engines behind the size dispatch of ``quantum/simulate.py``:
    numpy complex128 vs qsim (fused, 1 and 2 threads) on the same depth-10 circuit."""
    import numpy as np

    from ionstack.quantum import simulate
    from ionstack.quantum.engines import qsim, statevector

    out: dict[str, dict[str, float]] = {}
    for n in task["sizes"]:
        ops = simulate._ops(_parse(n, 99 + n), max_targets=qsim.MAX_TARGETS)

        def numpy_path(n: int = n, ops: Any = ops) -> Any:
            psi = statevector.simulate(n, ops)
            return psi.real * psi.real + psi.imag * psi.imag

        def qsim_path(threads: int, n: int = n, ops: Any = ops) -> Any:
            options = {
                "f": 4,
                "t": threads,
                "r": 1,
                "g": False,
                "gmode": 0,
                "gsst": 512,
                "gdb": 16,
                "v": 0,
                "z": False,
                "s": 1,
                "c": qsim.build(n, ops),
            }
            psi = qsim._qsim().qsim_simulate_fullstate(options, 0).view(np.complex64)
            return psi.real * psi.real + psi.imag * psi.imag

        fns: dict[str, Any] = {"qsim t=1": lambda: qsim_path(1), "qsim t=2": lambda: qsim_path(2)}
        if n <= task["numpy_max"]:
            fns["numpy"] = numpy_path
        row: dict[str, float] = {}
        for name, fn in fns.items():
            fn()
            times = []
            for _ in range(task["repeats"]):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            row[name] = statistics.median(times)
        out[str(n)] = row
    return {"rows": out}


# --------------------------------------------------------------------------- 36 qubits (d)

WIDE = 36


def _wide_circuit(task: dict[str, Any]) -> Any:
    from ionstack.quantum import parse_circuit

    n = task["n"]
    if task["circuit"] == "ghz":
        gates = [{"gate": "h", "target": 0}] + [
            {"gate": "cnot", "control": i, "target": i + 1} for i in range(n - 1)
        ]
    else:  # low entanglement: depth 4 of random rotations and a nearest-neighbour CNOT brick
        gates = random_layers(n, 4, task["seed"])
    return parse_circuit(gates, gateset="qis", qubits=n)


def _status(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _peaked(run_it: Any) -> dict[str, Any]:
    """Time ``run_it()`` and the resident memory it adds at its peak (VmHWM, reset first)."""
    import gc

    gc.collect()
    before = _status("VmRSS")
    with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
        f.write("5")
    t0 = time.perf_counter()
    extra = run_it() or {}
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "peak_mib": (_status("VmHWM") - before) / 2**20, **extra}


def wide_ours(task: dict[str, Any]) -> dict[str, Any]:
    from ionstack.quantum import noise_model, run

    c = _wide_circuit(task)
    noise = noise_model(task["noise"]) if task["noise"] else None
    run(c.__class__(qubits=2, gateset="qis", gates=c.gates[:1]), shots=10, noise=noise, seed=1)

    def go() -> dict[str, Any]:
        r = run(c, shots=task["shots"], noise=noise, seed=7, threads=task["threads"])
        ghz = sum((r.histogram or {}).get(k, 0) for k in (0, (1 << task["n"]) - 1))
        return {
            "method": r.method,
            "bond": r.max_bond,
            "discarded": r.discarded_weight,
            "ghz_fraction": ghz / task["shots"],
        }

    return _peaked(go)


def _aer_circuit(task: dict[str, Any]) -> Any:
    """The QIS circuit for Aer, measured. (The circuit compiled to forte's native gates, as
    2×2/4×4 unitaries, sampled wrongly on Aer 0.18: the native GHZ-4 gave 0101/1010 where
    qiskit's Statevector and ionstack give 0000/1111; so Aer gets the QIS gates, with the
    depolarizing noise after each of them: fewer noisy gates than the native circuit has.)"""
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(task["n"])
    for g in _wide_circuit(task).gates:
        if g.name == "x" and g.controls:
            qc.cx(g.controls[0], g.targets[0])
        elif g.name == "h":
            qc.h(g.targets[0])
        else:
            getattr(qc, g.name)(g.rotation, g.targets[0])
    qc.measure_all()
    return qc


def wide_aer(task: dict[str, Any]) -> dict[str, Any]:
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel, depolarizing_error

    from ionstack.quantum import noise_model

    qc = _aer_circuit(task)
    options: dict[str, Any] = {
        "method": task.get("method", "matrix_product_state"),
        "max_parallel_threads": task["threads"],
    }
    if options["method"] == "matrix_product_state":
        options["matrix_product_state_max_bond_dimension"] = 256
    if task["noise"]:
        model = noise_model(task["noise"])
        nm = NoiseModel(basis_gates=["h", "rx", "ry", "rz", "cx"])
        nm.add_all_qubit_quantum_error(depolarizing_error(model.p1q, 1), ["h", "rx", "ry", "rz"])
        nm.add_all_qubit_quantum_error(depolarizing_error(model.p2q, 2), ["cx"])
        options["noise_model"] = nm
    sim = AerSimulator(**options)

    def go() -> dict[str, Any]:
        counts = sim.run(qc, shots=task["shots"], seed_simulator=7).result().get_counts()
        ones = "1" * task["n"]
        return {
            "ghz_fraction": (counts.get("0" * task["n"], 0) + counts.get(ones, 0)) / task["shots"]
        }

    return _peaked(go)


def wide_quimb(task: dict[str, Any]) -> dict[str, Any]:
    """quimb's CircuitMPS (ideal only: it has no noise channels), the QIS circuit gate by gate
    as raw matrices; needs quimb on PYTHONPATH."""
    import quimb.tensor as qtn

    from ionstack.quantum import gates

    c = _wide_circuit(task)
    qtn.CircuitMPS(2).apply_gate("H", 0)  # imports and first compilations outside the timing

    def go() -> dict[str, Any]:
        circ = qtn.CircuitMPS(task["n"], max_bond=256, cutoff=1e-14)
        for g in c.gates:
            circ.apply_gate_raw(gates.gate_matrix(g, "qis"), g.qubits)
        list(circ.sample(task["shots"], seed=7))
        return {"fidelity_estimate": float(circ.fidelity_estimate())}

    return _peaked(go)


WORKERS = {
    f.__name__: f
    for f in (
        ideal_ours,
        ideal_qsimcirq,
        ideal_qsim_raw,
        bandwidth,
        noisy_ours,
        noisy_qsim,
        bell_calls,
        dynamic_case,
        crossover,
        wide_ours,
        wide_aer,
        wide_quimb,
    )
}


# --------------------------------------------------------------------------- driver


def measure(kind: str, task: dict[str, Any], *, runs: int = 1, timeout: int = 900) -> list[Any]:
    """Run ``kind`` in fresh subprocesses ``runs`` times; returns the results."""
    env = dict(
        os.environ,
        OMP_NUM_THREADS=str(task["threads"]),
        QULACS_NUM_THREADS=str(task["threads"]),
        OPENBLAS_NUM_THREADS="1",
    )
    out = []
    for _ in range(runs):
        p = subprocess.run(
            [sys.executable, __file__, "--worker", kind, json.dumps(task)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
        lines = [x for x in p.stdout.splitlines() if x.startswith("@@")]
        if not lines:
            raise RuntimeError(f"{kind} failed: {p.stderr.strip()[-500:]}")
        out.append(json.loads(lines[-1][2:]))
    return out


def _median(results: list[Any]) -> float:
    return float(statistics.median(r["seconds"] for r in results))


def _interleaved(jobs: dict[str, tuple[str, dict[str, Any]]], runs: int) -> dict[str, list[Any]]:
    """``runs`` rounds, each running every job once in turn, so that a change of machine load
    hits every side alike (jobs: label → (worker kind, task))."""
    out: dict[str, list[Any]] = {label: [] for label in jobs}
    for _ in range(runs):
        for label, (kind, task) in jobs.items():
            out[label] += measure(kind, task)
    return out


def workload_a(n: int, runs: int, threads: int) -> dict[str, Any]:
    task = {"n": n, "seed": 1234 + n, "threads": threads}
    got = _interleaved(
        {
            "ours": ("ideal_ours", task),
            "qsimcirq": ("ideal_qsimcirq", task),
            "qsim_raw": ("ideal_qsim_raw", task),
        },
        runs,
    )
    floor = 10 * measure("bandwidth", task)[0]["seconds"]
    ours, cirq_path, raw = _median(got["ours"]), _median(got["qsimcirq"]), _median(got["qsim_raw"])
    lib = min(cirq_path, raw)
    return {
        "n": n,
        "ours": ours,
        "qsimcirq": cirq_path,
        "qsim_raw": raw,
        "fastest_library": lib,
        "fused_floor": floor,
        "ratio": ours / lib,
        "ours_over_floor": ours / floor,
        "library_over_floor": lib / floor,
        "seconds": {k: [r["seconds"] for r in v] for k, v in got.items()},
        "detail": got["ours"][0],
    }


def workload_b(n: int, shots: int, runs: int, threads: int) -> dict[str, Any]:
    task = {"n": n, "seed": 555 + n, "shots": shots, "threads": threads}
    jobs = {"ours": ("noisy_ours", task)}
    for t in sorted({1, threads}):
        jobs[str(t)] = ("noisy_qsim", {**task, "threads": t})
    got = _interleaved(jobs, runs)
    base = {label: _median(v) for label, v in got.items() if label != "ours"}
    lib = min(base.values())
    return {
        "n": n,
        "shots": shots,
        "ours": _median(got["ours"]),
        "qsim_trajectories": base,
        "fastest_library": lib,
        "ratio": _median(got["ours"]) / lib,
        "seconds": {k: [r["seconds"] for r in v] for k, v in got.items()},
        "detail": got["ours"][0],
    }


def workload_c(calls: int, rounds: int, threads: int) -> dict[str, Any]:
    result = measure("bell_calls", {"calls": calls, "rounds": rounds, "threads": threads})[0]
    per = result["per_call"]
    return {
        "calls": calls,
        "rounds": rounds,
        "per_call": per,
        "best": result["best"],
        "fastest_library": min(per["qulacs"], per["lightning"]),
        # each round times every side back to back: the median of the per-round ratios is
        # the figure least moved by other processes
        "ratio": statistics.median(result["round_ratios"]),
        "round_ratios": result["round_ratios"],
    }


def workload_d(runs: int, threads: int, shots: int = 1000) -> dict[str, Any]:
    """36 qubits (issue 16 §5): GHZ under forte-1 noise; a depth-4 nearest-neighbour random
    circuit ideal and under forte-1 noise. ionstack against the MPS libraries called directly
    (a side that fails, e.g. quimb not installed, is reported as such)."""
    base = {"n": WIDE, "seed": 4036, "shots": shots, "threads": threads}
    cases = {
        "ghz forte-1": {**base, "circuit": "ghz", "noise": "forte-1"},
        "random ideal": {**base, "circuit": "random", "noise": None},
        "random forte-1": {**base, "circuit": "random", "noise": "forte-1"},
    }
    out: dict[str, Any] = {}
    for case, task in cases.items():
        sides = {"ours": "wide_ours", "aer_mps": "wide_aer"}
        if task["noise"] is None:
            sides["quimb"] = "wide_quimb"
        got: dict[str, Any] = {}
        for label, kind in sides.items():
            try:
                results = [measure(kind, task)[0] for _ in range(runs)]
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                got[label] = {"error": str(exc)[:200]}
                continue
            got[label] = {
                **results[0],
                "seconds": _median(results),
                "peak_mib": max(r["peak_mib"] for r in results),
                "runs": [r["seconds"] for r in results],
            }
        out[case] = got
    return out


def wide_report(d: dict[str, Any]) -> str:
    rows = [("36 qubits", "side", "time", "peak MiB", "notes")]
    for case, sides in d.items():
        for label, r in sides.items():
            if "error" in r:
                rows.append((case, label, "—", "—", r["error"][:60]))
                continue
            notes = []
            if "method" in r:
                notes.append(r["method"])
            if r.get("bond") is not None:
                notes.append(f"bond {r['bond']}, discarded {r['discarded']:.2g}")
            if case.startswith("ghz"):
                notes.append(f"GHZ outcomes {r['ghz_fraction']:.3f}")
            if "fidelity_estimate" in r:
                notes.append(f"fidelity est. {r['fidelity_estimate']:.6f}")
            rows.append((case, label, _fmt(r["seconds"]), f"{r['peak_mib']:.1f}", ", ".join(notes)))
        ours = sides.get("ours", {})
        others = [r["seconds"] for k, r in sides.items() if k != "ours" and "error" not in r]
        if "seconds" in ours and others:
            rows.append(
                (case, "ratio", f"{ours['seconds'] / min(others):.3g}×", "", "ours / fastest")
            )
    widths = [max(len(str(r[i])) for r in rows) for i in range(5)]
    return "\n".join(
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows
    )


def workload_e(n: int, shots: int, runs: int, reps: int, threads: int) -> dict[str, Any]:
    out: dict[str, Any] = {"n": n, "shots": shots}
    for noise in ("", "aria-1"):
        base = {"n": n, "seed": 4242, "shots": shots, "reps": reps, "threads": threads}
        jobs = {
            side: ("dynamic_case", {**base, "side": side, "noise": noise})
            for side in ("dynamic", "terminal", "aer")
        }
        got = _interleaved(jobs, runs)
        med = {side: _median(v) for side, v in got.items()}
        out[noise or "ideal"] = {
            **med,
            "ratio_terminal": med["dynamic"] / med["terminal"],
            "ratio_aer": med["dynamic"] / med["aer"],
            "detail": {k: got[k][0] for k in ("dynamic", "terminal")},
        }
    return out


def _fmt(s: float) -> str:
    return f"{s * 1e6:.1f} µs" if s < 1e-3 else (f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s")


def report(results: dict[str, dict[str, Any]]) -> str:
    rows = [("workload", "ionstack", "fastest library, called directly", "ratio", "goal")]
    if "a" in results:
        a = results["a"]
        rows += [
            (
                f"(a) {a['n']}q depth-10 ideal probabilities",
                _fmt(a["ours"]),
                f"qsim raw {_fmt(a['qsim_raw'])} / qsimcirq {_fmt(a['qsimcirq'])}",
                f"{a['ratio']:.2f}",
                "≤ 1.2",
            ),
            (
                "    vs fused bandwidth floor",
                _fmt(a["fused_floor"]),
                f"library {a['library_over_floor']:.1f}× floor",
                f"{a['ours_over_floor']:.1f}×",
                "—",
            ),
        ]
    if "b" in results:
        b = results["b"]
        rows.append(
            (
                f"(b) {b['n']}q depth-10 aria-1, {b['shots']} shots",
                _fmt(b["ours"]),
                "qsim trajectories "
                + " / ".join(f"t={t}: {_fmt(s)}" for t, s in b["qsim_trajectories"].items()),
                f"{b['ratio']:.2f}",
                "≤ 0.5",
            )
        )
    if "c" in results:
        c = results["c"]
        best_lib = min(c["best"]["qulacs"], c["best"]["lightning"])
        rows += [
            (
                "(c) Bell, 1000 shots, per call",
                _fmt(c["per_call"]["ionstack"]),
                f"qulacs {_fmt(c['per_call']['qulacs'])} / "
                f"lightning {_fmt(c['per_call']['lightning'])}",
                f"{c['ratio']:.2f}",
                "≤ 2",
            ),
            ("    (with parsing the JSON)", _fmt(c["per_call"]["ionstack+parse"]), "", "", ""),
            (
                "    (best round)",
                _fmt(c["best"]["ionstack"]),
                f"qulacs {_fmt(c['best']['qulacs'])} / lightning {_fmt(c['best']['lightning'])}",
                f"{c['best']['ionstack'] / best_lib:.2f}",
                "",
            ),
        ]
    if "e" in results:
        d = results["e"]
        for noise in ("ideal", "aria-1"):
            x = d[noise]
            rows += [
                (
                    f"(e) {d['n']}q, 3 mid-circuit measurements, {d['shots']} shots, {noise}",
                    _fmt(x["dynamic"]),
                    f"terminal measurements only (ours) {_fmt(x['terminal'])}",
                    f"{x['ratio_terminal']:.2f}",
                    "≤ 10",
                ),
                (
                    "",
                    "",
                    f"qiskit-aer, the dynamic circuit {_fmt(x['aer'])}",
                    f"{x['ratio_aer']:.3g}",
                    "—",
                ),
            ]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows
    )


def crossover_report(rows: dict[str, dict[str, float]]) -> str:
    names = ["numpy", "qsim t=1", "qsim t=2"]
    lines = ["qubits  " + "  ".join(f"{x:>10}" for x in names) + "  fastest"]
    for n, row in rows.items():
        cells = [_fmt(row[x]) if x in row else "—" for x in names]
        lines.append(
            f"{n:>6}  "
            + "  ".join(f"{c:>10}" for c in cells)
            + f"  {min(row, key=row.__getitem__)}"
        )
    return "\n".join(lines)


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about a minute)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--qubits", type=int, help="width of workload (a) (default 28; quick 20)")
    parser.add_argument("--runs", type=int, help="runs per measurement (default 3; quick 1)")
    parser.add_argument("--json", help="also write the raw numbers to this file")
    parser.add_argument(
        "--only",
        help="a subset of the workloads, e.g. bc (default abce); d: the 36-qubit table",
    )
    parser.add_argument("--reps", type=int, help="timed runs per side of (e) (default 5; quick 1)")
    parser.add_argument(
        "--crossover",
        action="store_true",
        help="only the engine crossover table behind the size dispatch (numpy vs qsim threads)",
    )
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, task = args.worker
        print("@@" + json.dumps(WORKERS[kind](json.loads(task))), flush=True)
        return
    t0 = time.perf_counter()
    if args.crossover:
        sizes = [4, 6, 8, 10, 12, 14, 16, 18, 20, 22]
        task = {"sizes": sizes, "numpy_max": 16, "repeats": 5, "threads": args.threads}
        print(f"load average at start: {_load()}", flush=True)
        print(crossover_report(measure("crossover", task)[0]["rows"]))
        print(f"load average at end: {_load()}; total {time.perf_counter() - t0:.0f} s")
        return
    runs = args.runs or (1 if args.quick else 3)
    only = set(args.only or "abce")
    loads = [_load()]
    print(f"load average at start: {loads[0]} (1/5/15 min; {os.cpu_count()} cores)", flush=True)
    results: dict[str, dict[str, Any]] = {}
    if "a" in only:
        n = args.qubits or (20 if args.quick else 28)
        results["a"] = workload_a(n, runs, args.threads)
        loads.append(_load())
    if "b" in only:
        results["b"] = workload_b(10 if args.quick else 14, 1000, runs, args.threads)
        loads.append(_load())
    if "c" in only:
        calls, rounds = (200, 5) if args.quick else (1000, max(15, runs))
        results["c"] = workload_c(calls, rounds, args.threads)
        loads.append(_load())
    if "d" in only:
        results["d"] = workload_d(args.runs or 1, args.threads, 200 if args.quick else 1000)
        loads.append(_load())
        print(wide_report(results["d"]))
    if "e" in only:
        reps = args.reps or (1 if args.quick else 5)
        results["e"] = workload_e(12, 1000, runs, reps, args.threads)
        loads.append(_load())
    if only & set("abce"):
        print(report(results))
    print(
        f"\nthreads={args.threads}; runs={runs}; "
        f"load average after {'/'.join(sorted(only))}: {' | '.join(loads[1:])}; "
        f"total {time.perf_counter() - t0:.0f} s"
    )
    if args.json:
        Path(args.json).write_text(json.dumps({**results, "load": loads}, indent=2))


if __name__ == "__main__":
    main()
