"""Emulation realism (issue 17): IonQ's published hardware figures against the emulated QPUs.

Runs the published benchmarks' circuits through the HTTP API of a real ``ionstack serve``
(started here, SQLite in a temporary directory, as bench/jobs.py does) and prints, per figure:
the emulation before issue 17 (the simulator with the published noise model named after the
QPU, which is what ``qpu.*`` ran until then: no readout, idle or systematic error), the device
model (``qpu.*`` without debiasing), the device model with debiasing (``qpu.*``'s default from
500 shots), the published figure, the difference in σ (the published and the emulated shot
noise combined; relative % where no σ is published) and the source. The published figures are
read from bench/data/published.json, the validation data: no device-model constant is fitted
to them.

Benchmarks (circuits rebuilt from metriq-gym's source, unitaryfoundation/metriq-gym):

* WIT, 7 qubits (``wit.py``: the 7-qubit circuit of arXiv:2205.14081 Fig. 4), the frequency
  of 1 on qubit 5 (ideal 0.996), on qpu.forte-enterprise-1, 2000 shots;
* LR-QAOA 1D (``lr_qaoa.py``/``circuits.py``): chain of n nodes, weights drawn with Python's
  ``random.seed(123)`` from (0.1, 0.2, 0.3, 0.5, 1.0), H on all, p = 10 layers of
  ``rzz(2γ_i·w/w_max)`` (even then odd edges) and ``rx(−2β_i)``, ``γ_i = iΔγ/p``,
  ``β_i = (p+1−i)Δβ/p`` (Δγ = 0.6, Δβ = 0.3); approximation ratio = mean cut / max cut
  (the chain's max cut is the sum of its weights), effective ratio with the published random
  baseline; 10 q (and 20 q with ``--wide``) on qpu.forte-1, 1000 shots a trial;
* a direct-RB-like 2q error: 2 qubits, |++⟩, m layers of (random Pauli on each qubit, then
  ``zz(π/2)`` = a full-angle native gate), m even, back to the computational basis: the ideal
  outcome is one bitstring; ``P(m) = A·p^m + ¼`` fitted over m, error per layer
  ``(15/16)(1 − p)`` (the process infidelity of a depolarizing layer), against the median DRB
  2q error of arXiv:2308.05071 (its layers hold the 2q gate and 1q gates too);
* GHZ fidelity, n qubits: ``(P(0…0) + P(1…1))/2 + ⟨X^⊗n⟩/2`` from two circuits (no published
  IonQ figure was found: printed for old/new comparison only).

Qiskit's ``rzz`` is submitted as metriq-gym's runs sent it to Braket, ``cx; rz(θ); cx`` (two
2q gates; qBraid converts through OpenQASM 3 with Qiskit's definition of ``rzz``), so
LR-QAOA 1D runs 180 (10 q) and 380 (20 q) CNOTs, not the 90 and 190 ``rzz`` the result files
count; ``--rzz zz`` submits each as one ``zz`` gate instead. Braket submissions carry no
error-mitigation parameter, so the published figures are not debiased: compare the device
column.

QPU jobs take their seed from the job id (semantics.md §4: ``noise`` is ignored on QPUs), so the
emulated figures move by their shot noise (printed σ) between runs; the old-model rows are seeded.

    .venv/bin/python bench/realism.py            # WIT, LR-QAOA 10 q (10 trials), RB, GHZ 10 q
    .venv/bin/python bench/realism.py --quick    # fewer trials, shots and RB sequences
    .venv/bin/python bench/realism.py --wide     # also LR-QAOA 20 q (slow: minutes per trial)
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from jobs import KEY, Server

HERE = Path(__file__).resolve().parent
PUBLISHED = json.loads((HERE / "data" / "published.json").read_text())["benchmarks"]
PI = math.pi


def published(key: str) -> dict[str, Any]:
    return next(b for b in PUBLISHED if b["id"] == key)


# --------------------------------------------------------------------------- jobs


def _run(
    client: httpx.Client,
    backend: str,
    qubits: int,
    circuit: list[dict[str, Any]],
    *,
    shots: int,
    mode: str,
    seed: int,
) -> dict[int, int]:
    """Histogram of one job: ``mode`` old (simulator + published model), raw (QPU, no
    debiasing), debiased (QPU default)."""
    body: dict[str, Any] = {
        "type": "ionq.circuit.v1",
        "shots": shots,
        "input": {"gateset": "qis", "qubits": qubits, "circuit": circuit},
    }
    if mode == "old":
        body |= {"backend": "simulator", "noise": {"model": backend[4:], "seed": seed}}
    else:
        body["backend"] = backend
        body["settings"] = {"error_mitigation": {"debiasing": mode == "debiased"}}
    job_id = client.post("/jobs", json=body).json()["id"]
    while True:
        job = client.get(f"/jobs/{job_id}").json()
        if job["status"] == "completed":
            break
        if job["status"] in ("failed", "canceled"):
            raise RuntimeError(f"job {job_id} {job['status']}: {job.get('failure')}")
    hist = client.get(f"/jobs/{job_id}/results/histogram").json()
    return {int(k): int(v) for k, v in hist.items()}


def _ideal(client: httpx.Client, qubits: int, circuit: list[dict[str, Any]]) -> dict[int, float]:
    body = {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "input": {"gateset": "qis", "qubits": qubits, "circuit": circuit},
    }
    job_id = client.post("/jobs", json=body).json()["id"]
    while client.get(f"/jobs/{job_id}").json()["status"] != "completed":
        pass
    probs = client.get(f"/jobs/{job_id}/results/probabilities").json()
    return {int(k): float(v) for k, v in probs.items()}


# --------------------------------------------------------------------------- circuits


def _g(name: str, *qubits: int, rotation: float | None = None) -> dict[str, Any]:
    gate: dict[str, Any] = {"gate": name}
    if name in ("cnot",):
        gate |= {"control": qubits[0], "target": qubits[1]}
    elif len(qubits) == 1:
        gate["target"] = qubits[0]
    else:
        gate["targets"] = list(qubits)
    if rotation is not None:
        gate["rotation"] = rotation
    return gate


#: How a Qiskit ``rzz(θ)`` reaches the QPU: ``sent`` = what metriq-gym's submission path sent to
#: Braket (qBraid 0.10–0.12 without qiskit-braket-provider converts Qiskit → OpenQASM 3 →
#: Braket; Qiskit's exporter defines ``rzz`` as ``cx; rz(θ) b; cx`` and pyqasm inlines it, so
#: each ``rzz`` arrives as two CNOTs); ``zz`` = one QIS ``zz`` gate (one native 2q gate).
RZZ_FORM = {"form": "sent"}


def _rzz(a: int, b: int, theta: float) -> list[dict[str, Any]]:
    if RZZ_FORM["form"] == "zz":
        return [_g("zz", a, b, rotation=theta)]
    return [_g("cnot", a, b), _g("rz", b, rotation=theta), _g("cnot", a, b)]


def wit7() -> list[dict[str, Any]]:
    """metriq-gym ``wit_circuit(7)``, its ``rzz`` gates as :data:`RZZ_FORM` says."""
    c: list[dict[str, Any]] = []
    phases = (0.0566794, 0.01039906, 0.0632158)
    for a, b in ((0, 5), (1, 4), (2, 3)):
        c += [_g("h", a), _g("cnot", a, b)]

    def block(qs: tuple[int, int, int], sign: float, rx_first: bool) -> None:
        nonlocal c
        if rx_first:
            c += [_g("rx", q, rotation=sign * PI / 2) for q in qs]
        c += [_g("rz", q, rotation=sign * p) for q, p in zip(qs, phases, strict=True)]
        c += _rzz(qs[0], qs[1], sign * PI / 2)
        c += _rzz(qs[1], qs[2], sign * PI / 2)

    left = (0, 1, 2)
    for _ in range(3):
        block(left, -1.0, True)
    c.append(_g("swap", 0, 6))
    for i in range(3):
        block(left, 1.0, False)
        if i < 2:
            c += [_g("rx", q, rotation=PI / 2) for q in left]
    c += [_g("rx", q, rotation=PI / 2) for q in left]
    c += _rzz(1, 4, PI / 2) + _rzz(2, 3, PI / 2)
    right = (5, 4, 3)
    for _ in range(3):
        block(right, 1.0, True)
    return c


def lr_qaoa(n: int, p: int = 10) -> tuple[list[dict[str, Any]], list[tuple[int, int, float]]]:
    rnd = random.Random(123)
    edges = [(i, i + 1, rnd.choice([0.1, 0.2, 0.3, 0.5, 1.0])) for i in range(n - 1)]
    w_max = max(w for _, _, w in edges)
    weight = {(i, j): w for i, j, w in edges}
    c = [_g("h", q) for q in range(n)]
    for layer in range(1, p + 1):
        gamma = layer * 0.6 / p
        beta = (p + 1 - layer) * 0.3 / p
        for start in (0, 1):
            for i in range(start, n - 1, 2):
                c += _rzz(i, i + 1, 2 * gamma * weight[(i, i + 1)] / w_max)
        c += [_g("rx", q, rotation=-2 * beta) for q in range(n)]
    return c, edges


def rb_sequence(m: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    c = [_g("h", 0), _g("h", 1)]
    for _ in range(m):
        for q in (0, 1):
            pauli = str(rng.choice(["i", "x", "y", "z"]))
            if pauli != "i":
                c.append(_g(pauli, q))
        c.append(_g("zz", 0, 1, rotation=PI / 2))
    return [*c, _g("h", 0), _g("h", 1)]


def ghz(n: int, *, x_basis: bool) -> list[dict[str, Any]]:
    c = [_g("h", 0)] + [_g("cnot", i, i + 1) for i in range(n - 1)]
    return c + ([_g("h", q) for q in range(n)] if x_basis else [])


# --------------------------------------------------------------------------- figures


def wit_figure(hist: dict[int, int]) -> tuple[float, float]:
    """metriq-gym's WIT score: the frequency of 1 on qubit 5 (ideal 0.996), binomial σ."""
    shots = sum(hist.values())
    p = sum(c for k, c in hist.items() if k >> 5 & 1) / shots
    return p, math.sqrt(max(1e-12, p * (1 - p)) / shots)


def cut(bits: int, edges: list[tuple[int, int, float]]) -> float:
    return sum(w for i, j, w in edges if (bits >> i & 1) != (bits >> j & 1))


def qaoa_figure(
    hists: list[dict[int, int]], edges: list[tuple[int, int, float]], random_ratio: float
) -> tuple[float, float, float]:
    best = sum(w for _, _, w in edges)
    ratios = [
        sum(c * cut(k, edges) for k, c in h.items()) / (best * sum(h.values())) for h in hists
    ]
    approx = float(np.mean(ratios))
    if len(ratios) > 1:
        sigma = float(np.std(ratios, ddof=1) / math.sqrt(len(ratios)))
    else:  # one trial: the shot noise of the mean cut
        (h,) = hists
        cuts = np.repeat([cut(k, edges) / best for k in h], list(h.values()))
        sigma = float(np.std(cuts, ddof=1) / math.sqrt(cuts.size))
    eff = (approx - random_ratio) / (1 - random_ratio)
    return eff, sigma / (1 - random_ratio), approx


def rb_fit(ms: list[int], survival: list[float], sigmas: list[float]) -> tuple[float, float]:
    """``P(m) = A·p^m + ¼``: weighted least squares of log(P − ¼) on m; returns (error, σ)."""
    y = np.log(np.clip(np.array(survival) - 0.25, 1e-9, None))
    w = (np.array(survival) - 0.25) / np.maximum(np.array(sigmas), 1e-9)
    a = np.vstack([np.ones(len(ms)), np.array(ms, dtype=float)]).T
    coef, *_ = np.linalg.lstsq(a * w[:, None], y * w, rcond=None)
    cov = np.linalg.inv((a * w[:, None]).T @ (a * w[:, None]))
    p = math.exp(coef[1])
    return 15 / 16 * (1 - p), 15 / 16 * p * math.sqrt(cov[1, 1])


# --------------------------------------------------------------------------- table


Row = tuple[str, str, dict[str, tuple[float, float]], float | None, float | None, str]


def _diff(value: float, sigma: float, pub: float | None, pub_sigma: float | None) -> str:
    if pub is None:
        return "—"
    if pub_sigma:
        total = math.hypot(sigma, pub_sigma)
        return f"{(value - pub) / total:+.1f}σ"
    return f"{100 * (value - pub) / pub:+.0f} %"


def print_table(rows: list[Row]) -> None:
    print()
    head = f"{'figure':<38} {'backend':<24} {'old model':>17} {'device':>17} {'debiased':>17}"
    print(head + f" {'published':>15}  {'device vs pub':>13} {'debiased vs pub':>15}  source")
    for name, backend, values, pub, pub_sigma, source in rows:
        digits = 3 if pub is None or pub > 0.05 else 5
        cells = []
        for mode in ("old", "raw", "debiased"):
            v = values.get(mode)
            cells.append("—" if v is None else f"{v[0]:.{digits}f} ± {v[1]:.{digits}f}")
        pub_text = (
            "—"
            if pub is None
            else f"{pub:.{digits}f}" + (f" ± {pub_sigma:.3f}" if pub_sigma else "")
        )
        diffs = [
            "—" if values.get(m) is None else _diff(*values[m], pub, pub_sigma)
            for m in ("raw", "debiased")
        ]
        print(
            f"{name:<38} {backend:<24} {cells[0]:>17} {cells[1]:>17} {cells[2]:>17} "
            f"{pub_text:>15}  {diffs[0]:>13} {diffs[1]:>15}  {source}"
        )


# --------------------------------------------------------------------------- sensitivity


def _import_characterization(server: Server, body: dict[str, Any], tmp: Path) -> None:
    """Store ``body`` as today's qpu.forte-1 characterization with the real admin command."""
    path = tmp / "characterization.json"
    path.write_text(json.dumps(body))
    subprocess.run(
        [sys.executable, "-m", "ionstack", "characterizations", "import", str(path)],
        env=server.env,
        check=True,
        capture_output=True,
    )


def sensitivity(
    server: Server,
    client: httpx.Client,
    tmp: Path,
    *,
    sizes: list[tuple[int, int, int]],
    scales: list[float],
    t2s: list[float],
) -> list[tuple[float, float, dict[int, tuple[float, float]]]]:
    """LR-QAOA's effective ratio on qpu.forte-1 when today's characterization has ``scale``×
    its 2q error and the given T2 (imported with ``ionstack characterizations import``, then
    restored). A diagnostic of what the published figures would need, not a model: the device
    model's constants are never taken from it. ``sizes``: (qubits, trials, shots)."""
    backend = client.get("/backends/qpu.forte-1").json()
    base = client.get(f"/backends/qpu.forte-1/characterizations/{backend['characterization_id']}")
    original = base.json()
    error_2q = 1.0 - original["fidelity"]["2q"]["median"]
    out = []
    try:
        for scale in scales:
            for t2 in t2s:
                body = json.loads(json.dumps(original))
                body.pop("id")
                body["fidelity"]["2q"]["median"] = 1.0 - scale * error_2q
                body["timing"]["t2"] = t2
                _import_characterization(server, body, tmp)
                row: dict[int, tuple[float, float]] = {}
                for n, n_trials, shots in sizes:
                    pub = published(f"lr-qaoa-1d-{n}q-p10-forte-1")
                    circuit, edges = lr_qaoa(n)
                    hists = [
                        _run(client, "qpu.forte-1", n, circuit, shots=shots, mode="raw", seed=t)
                        for t in range(n_trials)
                    ]
                    eff, sig, _ = qaoa_figure(hists, edges, pub["random_approx_ratio"])
                    row[n] = (eff, sig)
                    print(
                        f"  sensitivity ×{scale:g} T2 {t2:g} s, {n} q: {eff:.3f}", file=sys.stderr
                    )
                out.append((scale, t2, row))
    finally:
        _import_characterization(server, original, tmp)
    return out


def print_sensitivity(
    grid: list[tuple[float, float, dict[int, tuple[float, float]]]], sizes: list[int]
) -> None:
    print("\nSensitivity (diagnostic, not the model): LR-QAOA 1D p=10 effective ratio on")
    print("qpu.forte-1 with today's characterization changed to k × its 2q error and the given T2")
    head = f"{'2q error':>10} {'T2 (s)':>8}"
    for n in sizes:
        head += f" {f'{n} q':>15}"
    print(head)
    for scale, t2, row in grid:
        line = f"{f'×{scale:g}':>10} {t2:>8g}"
        for n in sizes:
            eff, sig = row[n]
            line += f" {f'{eff:.3f} ± {sig:.3f}':>15}"
        print(line)
    pubs = "".join(
        f" {published(f'lr-qaoa-1d-{n}q-p10-forte-1')['effective_approx_ratio']:>15.3f}"
        for n in sizes
    )
    print(f"{'published':>19}{pubs}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer trials, shots and sequences")
    ap.add_argument("--wide", action="store_true", help="also LR-QAOA at 20 qubits")
    ap.add_argument("--wide-trials", type=int, default=1, help="LR-QAOA 20 q trials (default 1)")
    ap.add_argument(
        "--wide-shots",
        type=int,
        default=500,
        help="LR-QAOA 20 q shots a trial (default 500; debiasing needs 500)",
    )
    ap.add_argument("--ghz-qubits", type=int, default=10)
    ap.add_argument(
        "--sensitivity",
        action="store_true",
        help="also LR-QAOA under scaled 2q error and shorter T2 (a diagnostic; 20 q with --wide)",
    )
    ap.add_argument(
        "--rzz",
        choices=("sent", "zz"),
        default="sent",
        help="WIT/LR-QAOA rzz as sent to Braket (cx·rz·cx, default) or as one zz gate",
    )
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    RZZ_FORM["form"] = args.rzz
    trials = 3 if args.quick else 10
    rb_ms = [2, 10, 30, 60]
    rb_seqs = 4 if args.quick else 12
    rb_shots = 500 if args.quick else 1000
    modes = ("old", "raw", "debiased")
    rows: list[Row] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ionstack-realism-") as tmp:
        # the per-key rate limit is off: this bench measures physics, and its hundreds of small
        # jobs a minute would otherwise meet 429s
        server = Server(
            data_dir=Path(tmp),
            database_url=None,
            workers=args.workers,
            settings={"IONSTACK_RATE_LIMIT": ""},
        )
        try:
            # held polls answer after up to 5 s: wait longer than httpx's default 5 s
            client = httpx.Client(
                base_url=server.url, headers={"Authorization": f"apiKey {KEY}"}, timeout=120
            )

            def timed(label: str, fn: Callable[[], Row]) -> None:
                t = time.monotonic()
                rows.append(fn())
                print(f"  {label}: {time.monotonic() - t:.0f} s", file=sys.stderr, flush=True)

            def wit_row() -> Row:
                pub = published("wit-7q-forte-enterprise-1")
                vals = {
                    m: wit_figure(
                        _run(
                            client, "qpu.forte-enterprise-1", 7, wit7(), shots=2000, mode=m, seed=7
                        )
                    )
                    for m in modes
                }
                return (
                    "WIT 7q P(q5=1) (2000 shots)",
                    "qpu.forte-enterprise-1",
                    vals,
                    pub["value"],
                    pub["sigma"],
                    "metriq-data v0.5 (2026-01-02)",
                )

            def qaoa_row(n: int, n_trials: int, shots: int = 1000) -> Row:
                pub = published(f"lr-qaoa-1d-{n}q-p10-forte-1")
                circuit, edges = lr_qaoa(n)
                vals = {}
                for m in modes:
                    hists = [
                        _run(client, "qpu.forte-1", n, circuit, shots=shots, mode=m, seed=100 + t)
                        for t in range(n_trials)
                    ]
                    eff, sig, _ = qaoa_figure(hists, edges, pub["random_approx_ratio"])
                    vals[m] = (eff, sig)
                return (
                    f"LR-QAOA 1D {n}q p=10 eff. ({n_trials}×{shots} sh.)",
                    "qpu.forte-1",
                    vals,
                    pub["effective_approx_ratio"],
                    None,
                    "metriq-data v0.7 (2026-07-10)",
                )

            def rb_row() -> Row:
                pub = published("drb-2q-forte")
                rng = np.random.default_rng(2308)
                seqs = {m: [rb_sequence(m, rng) for _ in range(rb_seqs)] for m in rb_ms}
                targets = {
                    m: [max(_ideal(client, 2, s).items(), key=lambda kv: kv[1])[0] for s in seqs[m]]
                    for m in rb_ms
                }
                vals = {}
                for mode in modes:
                    surv, sig = [], []
                    for m in rb_ms:
                        ps = []
                        for s, target in zip(seqs[m], targets[m], strict=True):
                            h = _run(client, "qpu.forte-1", 2, s, shots=rb_shots, mode=mode, seed=m)
                            ps.append(h.get(target, 0) / rb_shots)
                        surv.append(float(np.mean(ps)))
                        sig.append(float(np.std(ps, ddof=1) / math.sqrt(len(ps))) + 1e-4)
                    vals[mode] = rb_fit(rb_ms, surv, sig)
                return (
                    "2q error per layer (DRB-like)",
                    "qpu.forte-1",
                    vals,
                    pub["value"],
                    None,
                    "arXiv:2308.05071 (median DRB)",
                )

            def ghz_row(n: int) -> Row:
                vals = {}
                for mode in modes:
                    pz = _run(
                        client,
                        "qpu.forte-1",
                        n,
                        ghz(n, x_basis=False),
                        shots=2000,
                        mode=mode,
                        seed=1,
                    )
                    px = _run(
                        client,
                        "qpu.forte-1",
                        n,
                        ghz(n, x_basis=True),
                        shots=2000,
                        mode=mode,
                        seed=2,
                    )
                    pop = (pz.get(0, 0) + pz.get((1 << n) - 1, 0)) / 2000
                    parity = (
                        sum(c * (1 - 2 * (bin(k).count("1") % 2)) for k, c in px.items()) / 2000
                    )
                    f = pop / 2 + parity / 2
                    vals[mode] = (f, math.sqrt(pop * (1 - pop) / 2000 + (1 - parity**2) / 2000) / 2)
                return (
                    f"GHZ {n}q fidelity",
                    "qpu.forte-1",
                    vals,
                    None,
                    None,
                    "no published IonQ figure found",
                )

            timed("WIT", wit_row)
            timed("LR-QAOA 10q", lambda: qaoa_row(10, trials))
            if args.wide:
                timed("LR-QAOA 20q", lambda: qaoa_row(20, args.wide_trials, args.wide_shots))
            timed("RB", rb_row)
            timed("GHZ", lambda: ghz_row(args.ghz_qubits))
            if args.sensitivity:
                sizes = [(10, 3, 1000)] + ([(20, 1, args.wide_shots)] if args.wide else [])
                grid = sensitivity(
                    server,
                    client,
                    Path(tmp),
                    sizes=sizes,
                    scales=[1.0, 2.0, 4.0],
                    t2s=[1.0, 0.1],
                )
        finally:
            server.stop()
    print_table(rows)
    if args.sensitivity:
        print_sensitivity(grid, [n for n, _, _ in sizes])
    print(
        f"\n{time.monotonic() - started:.0f} s; old model = simulator noise.model named after the"
        " QPU (seeded); device/debiased = qpu.* (seed from the job id); σ = shot noise (WIT, GHZ),"
        " trial spread (LR-QAOA), fit (RB)"
    )


if __name__ == "__main__":
    main()
