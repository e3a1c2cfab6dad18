"""Workers: claim a job, run it on the quantum core, write its results (design.md steps 4–7).

A worker process runs one or more worker loops (threads). Each loop claims the next job, runs
it while a heartbeat thread keeps the lease alive, and writes the results conditioned on still
holding the lease. Between units of work the simulation calls :meth:`Run.check`, which stops
it when the job was cancelled (the heartbeat finds it no longer ``started``), when the
simulation time limit is reached, or when the worker is shutting down (the job is released
back to the queue). Expired leases of dead workers are requeued by every worker.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ionstack import ids
from ionstack.catalog import Backend, Catalog
from ionstack.errors import IonstackError, JobFailure
from ionstack.logs import job_event
from ionstack.metrics import Metrics
from ionstack.quantum import budget
from ionstack.quantum.circuit import parse_input
from ionstack.quantum.device import DeviceModel
from ionstack.quantum.engines.mps import Limits
from ionstack.quantum.noise import NoiseModel, noise_model
from ionstack.quantum.sampling import Probabilities
from ionstack.quantum.simulate import RunResult, run
from ionstack.quantum.symmetry import hull
from ionstack.runtime import devices, isolation, programs, queue, workloads
from ionstack.settings import Settings
from ionstack.store.wakeups import ThreadWakeup, Wakeup, wakeup_for

logger = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class Stop(IonstackError):
    """The run was stopped (cancelled, timed out, or the worker is shutting down)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def derived_seed(*parts: object) -> int:
    """A seed in [1, 2^31-1] hashed from ``parts`` (never derived by incrementing)."""
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") % (2**31 - 1) + 1


@dataclass
class Run:
    """One claimed job being executed: the lease heartbeat and the stop checks."""

    held: queue.Claim
    sessions: sessionmaker[Session]
    settings: Settings
    shutdown: threading.Event
    deadline: float
    lost: threading.Event
    done: threading.Event

    def check(self) -> None:
        """Called by the simulator between units of work."""
        if self.lost.is_set():
            raise Stop("lost")
        if self.shutdown.is_set():
            raise Stop("shutdown")
        if time.monotonic() > self.deadline:
            raise Stop("timeout")

    def beat(self) -> None:
        interval = max(0.05, self.settings.lease_seconds / 3)
        while not self.done.wait(interval):
            try:
                ours = queue.heartbeat(
                    self.sessions, self.held, lease_seconds=self.settings.lease_seconds, now=_now()
                )
            except Exception:
                logger.exception("heartbeat failed", extra={"job_id": self.held.job_id})
                continue
            if not ours:
                self.lost.set()
                return


class Worker:
    """A worker loop over the queue."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: sessionmaker[Session],
        wakeup: Wakeup,
        catalog: Catalog | None = None,
        shutdown: threading.Event | None = None,
        name: str | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.sessions = sessions
        self.wakeup = wakeup
        self.catalog = catalog or Catalog()
        self.shutdown = shutdown or threading.Event()
        self.worker_id = name or f"{os.uname().nodename}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._last_reap = 0.0

    def run_forever(self) -> None:
        logger.info("worker started", extra={"action": "worker_started", "worker": self.worker_id})
        while not self.shutdown.is_set():
            if self.metrics is not None:
                self.metrics.worker_alive(self.worker_id)
            try:
                self._reap()
                if not self.run_once():
                    self.wakeup.wait(self.settings.poll_interval_s)
            except Exception:
                logger.exception("worker loop error", extra={"worker": self.worker_id})
                self.shutdown.wait(1.0)
        logger.info("worker stopped", extra={"action": "worker_stopped", "worker": self.worker_id})

    def _announce(self, job_ids: Iterable[str | None]) -> None:
        """Tell held status polls that these jobs finished (committed already). A lost signal
        only delays those polls until they re-read the job, so a failure here is logged."""
        try:
            self.wakeup.finished(job_ids)
        except Exception:
            logger.warning(
                "could not announce finished jobs",
                exc_info=True,
                extra={"action": "announce_failed", "worker": self.worker_id},
            )

    def _reap(self) -> None:
        if time.monotonic() - self._last_reap < self.settings.lease_seconds / 2:
            return
        self._last_reap = time.monotonic()
        _, failed = queue.requeue_expired(
            self.sessions,
            now=_now(),
            max_attempts=self.settings.max_attempts,
            killed=budget.killed_evidence,
        )
        self._announce(failed)

    def run_once(self) -> bool:
        """Claim and run one job; False when the queue was empty."""
        held = queue.claim(
            self.sessions,
            worker_id=self.worker_id,
            lease_seconds=self.settings.lease_seconds,
            now=_now(),
        )
        if held is None:
            return False
        waited = (_now() - held.submitted_at).total_seconds() if held.submitted_at else None
        job_event(
            logger,
            "job_started",
            job_id=held.job_id,
            project_id=held.project_id,
            backend=held.backend,
            duration_ms=None if waited is None else max(0, int(waited * 1000)),
            worker=self.worker_id,
            attempt=held.attempt,
            parent_id=held.parent_id,
        )
        self._execute(held)
        return True

    def _execute(self, held: queue.Claim) -> None:
        current = Run(
            held=held,
            sessions=self.sessions,
            settings=self.settings,
            shutdown=self.shutdown,
            deadline=time.monotonic() + self.settings.simulation_timeout_s,
            lost=threading.Event(),
            done=threading.Event(),
        )
        beat = threading.Thread(target=current.beat, name="heartbeat", daemon=True)
        beat.start()
        started = time.monotonic()
        code: str | None = None
        try:
            with budget.labelled(held.job_id):  # its memory reservations name the job
                outcome = self._computed(held, check=current.check)
            elapsed_ms = int((time.monotonic() - started) * 1000)
            outcome = _with_duration(outcome, elapsed_ms)
            written = queue.complete(self.sessions, held, outcome, now=_now())
            if written:
                self._announce([held.job_id, held.parent_id])
            action = "job_completed" if written else "job_result_discarded"
        except Stop as stop:
            action, code = self._stopped(held, stop.reason)
        except JobFailure as failure:
            action, code = self._fail(held, failure.failure())
        except MemoryError:
            action, code = self._fail(
                held, {"code": "SimulationError", "message": "The simulation ran out of memory."}
            )
        except Exception as exc:
            logger.exception(
                "job crashed",
                extra={"action": "job_error", "job_id": held.job_id, "backend": held.backend},
            )
            action, code = self._fail(
                held,
                {"code": "SimulationError", "message": f"Simulation failed: {type(exc).__name__}"},
            )
        finally:
            current.done.set()
            beat.join(timeout=5)
        self._finished(held, action, code=code, seconds=time.monotonic() - started)

    def _fail(self, held: queue.Claim, failure: dict[str, str]) -> tuple[str, str | None]:
        written = queue.fail(self.sessions, held, failure, now=_now())
        if written:
            self._announce([held.job_id, held.parent_id])
        return ("job_failed" if written else "job_result_discarded"), failure.get("code")

    def _stopped(self, held: queue.Claim, reason: str) -> tuple[str, str | None]:
        if reason == "shutdown":
            queue.release(self.sessions, held)
            return "job_released", None
        if reason == "timeout":
            limit = self.settings.simulation_timeout_s
            return self._fail(
                held,
                {"code": "SimulationTimeout", "message": f"The simulation exceeded {limit:g} s."},
            )
        return "job_abandoned", None  # cancelled, or the lease was taken over

    def _finished(
        self, held: queue.Claim, action: str, *, code: str | None, seconds: float
    ) -> None:
        job_event(
            logger,
            action,
            job_id=held.job_id,
            project_id=held.project_id,
            backend=held.backend,
            duration_ms=int(seconds * 1000),
            code=code,
            worker=self.worker_id,
            attempt=held.attempt,
        )
        if self.metrics is not None:
            outcome = action.removeprefix("job_")
            self.metrics.job_ran(backend=held.backend, outcome=outcome, seconds=seconds)

    # --- the physics ---------------------------------------------------------------------------

    def _computed(self, held: queue.Claim, *, check: Any) -> queue.Outcome:
        """The job's outcome, computed in this thread or, when its memory estimate is at least
        ``IONSTACK_ISOLATE_ABOVE_BYTES``, in a child process with a memory limit
        (runtime/isolation.py)."""
        device = self.device_for(held)
        above = self.settings.isolate_above_bytes
        sized = (
            None
            if above == 0
            else isolation.estimate(
                held, catalog=self.catalog, device=device, settings=self.settings
            )
        )
        if sized is None or sized[0] < above:
            return self.compute(held, check=check, device=device)
        peak, answer = sized
        task = isolation.Task(
            held=held,
            device=device,
            catalog=self.catalog,
            settings=self.settings,
            host=budget.current(),
            estimate=peak,
            allowance=isolation.allowance(peak, answer, self.settings),
        )
        return isolation.run(task, compute=compute_isolated, check=check)

    def device_for(self, held: queue.Claim) -> DeviceModel | None:
        """A QPU job's device model: the characterization in force at its submission
        (runtime/devices.py); ``None`` for simulator jobs."""
        backend = self.catalog.get(held.backend)
        if backend is None or not backend.is_qpu:
            return None
        return devices.qpu_model(self.sessions, backend, held.submitted_at, self.settings)

    def compute(
        self, held: queue.Claim, *, check: Any, device: DeviceModel | None
    ) -> queue.Outcome:
        """Run a claimed job on the quantum core (no database access: ``device`` is
        :meth:`device_for`'s)."""
        backend = self.catalog.get(held.backend)
        if held.type in workloads.FUNCTION_TYPES:
            return workloads.compute(
                held, catalog=self.catalog, settings=self.settings, check=check, device=device
            )
        if backend is None:
            raise JobFailure("InternalError", f"Unknown backend {held.backend}.")
        if held.type == programs.QASM3_JOB:
            return self._program(held, backend, check, device)
        circuit = parse_input(held.input, job_type="ionq.circuit.v1")[0]
        shots = held.shots or self.settings.default_shots
        threads = self.settings.engine_threads
        memory = self.settings.memory_limit_bytes
        if device is not None:
            model: NoiseModel = device
            seed = derived_seed(held.job_id)
            debias = bool(held.settings.get("error_mitigation", {}).get("debiasing"))
            if debias:
                outcome = self._debiased(held, circuit, model, seed, shots, backend.qubits, check)
            else:
                result = run(
                    circuit,
                    shots=shots,
                    noise=model,
                    seed=seed,
                    threads=threads,
                    memory_limit_bytes=memory,
                    check=check,
                    mps_limits=mps_limits(self.settings),
                )
                outcome = _sampled(result, held)
            outcome.output["noise_model"] = device.describe()
            outcome = self._symmetry_verified(held, circuit, outcome, check)
            if self.settings.emulate_qpu_duration:
                _sleep_predicted(held, check)
            return outcome
        noise = held.noise or {"model": "ideal"}
        name = str(noise.get("model", "ideal"))
        if name == "ideal":
            result = run(
                circuit,
                shots=None,
                noise=None,
                seed=0,
                threads=threads,
                memory_limit_bytes=memory,
                check=check,
                mps_limits=mps_limits(self.settings),
            )
            return _exact(result, held)
        seed = int(noise.get("seed") or derived_seed(held.job_id))
        if held.circuit_index:
            seed = derived_seed(seed, held.circuit_index)
        result = run(
            circuit,
            shots=shots,
            noise=noise_model(name),
            seed=seed,
            threads=threads,
            memory_limit_bytes=memory,
            check=check,
            mps_limits=mps_limits(self.settings),
        )
        outcome = _sampled(result, held)
        outcome.output["noise_model"] = {"kind": "published", "model": name}
        return self._symmetry_verified(held, circuit, outcome, check)

    def _symmetry_verified(
        self, held: queue.Claim, circuit: Any, outcome: queue.Outcome, check: Any
    ) -> queue.Outcome:
        """Post-select a sampled outcome on the circuit's Z-parity symmetries when the job asks
        for ``symmetry_verification`` (:mod:`ionstack.quantum.symmetry`)."""
        mitigation = held.settings.get("error_mitigation") or {}
        if not isinstance(mitigation, dict) or not mitigation.get("symmetry_verification"):
            return outcome
        ideal = run(
            circuit,
            shots=None,
            noise=None,
            seed=0,
            threads=self.settings.engine_threads,
            memory_limit_bytes=self.settings.memory_limit_bytes,
            check=check,
        )
        if ideal.truncated:  # the support is not known in full: no symmetry is claimed
            return _with_report(outcome, {"num_allowed_states": None, "applied": False})
        subspace = hull(_keys_of(ideal.probabilities), qubits=circuit.qubits)
        report: dict[str, Any] = {
            "num_allowed_states": subspace.allowed_states,
            "applied": subspace.restricts,
        }
        if not subspace.restricts or outcome.shots is None:
            return _with_report(outcome, report)
        kept = subspace.keep([int(s) for s in outcome.shots])
        if not kept:  # every shot broke a symmetry: keep them all rather than answer nothing
            return _with_report(outcome, {**report, "applied": False})
        counts = Counter(kept)
        return replace(
            _with_report(outcome, report),
            probabilities={str(k): counts[k] / len(kept) for k in sorted(counts)},
            histogram={str(k): counts[k] for k in sorted(counts)},
            shots=[str(k) for k in kept],
        )

    def _program(
        self, held: queue.Claim, backend: Backend, check: Any, device: NoiseModel | None = None
    ) -> queue.Outcome:
        """An ``ionq.qasm3.v1`` job: sampled under the same model and seed as a circuit job
        (on a QPU its device model, every term: quantum/dynamic_device.py)."""
        if backend.is_qpu:
            model: NoiseModel | None = device or noise_model(backend.noise_model or "ideal")
            seed = derived_seed(held.job_id)
        else:
            noise = held.noise or {"model": "ideal"}
            name = str(noise.get("model", "ideal"))
            model = None if name == "ideal" else noise_model(name)
            seed = int(noise.get("seed") or derived_seed(held.job_id))
        outcome = programs.compute(
            held, model=model, seed=seed, settings=self.settings, check=check
        )
        if isinstance(model, DeviceModel):
            outcome.output["noise_model"] = model.describe()
        elif model is not None:
            outcome.output["noise_model"] = {"kind": "published", "model": model.name}
        if backend.is_qpu and self.settings.emulate_qpu_duration:
            _sleep_predicted(held, check)
        return outcome

    def _debiased(
        self,
        held: queue.Claim,
        circuit: Any,
        model: NoiseModel,
        seed: int,
        shots: int,
        backend_qubits: int,
        check: Any,
    ) -> queue.Outcome:
        from ionstack.quantum.debias import run_debiased

        variants = run_debiased(
            circuit,
            shots=shots,
            noise=model,
            seed=seed,
            backend_qubits=backend_qubits,
            threads=self.settings.engine_threads,
            memory_limit_bytes=self.settings.memory_limit_bytes,
            check=check,
            mps_limits=mps_limits(self.settings),
        )
        pooled: Counter[int] = Counter()
        samples: list[str] = []
        stored: list[dict[str, Any]] = []
        wire: list[dict[str, Any]] = []
        for variant in variants:
            histogram = variant.result.histogram or {}
            shots_run = [str(s) for s in (variant.result.samples or [])]
            pooled.update(histogram)
            samples.extend(shots_run)
            vid = ids.uuid7()
            stored.append(
                {
                    "variant_id": vid,
                    "qubit_map": list(variant.qubit_map),
                    "shot_count": variant.shots,
                    "probabilities": _keys(variant.result.probabilities),
                    "histogram": {str(k): int(v) for k, v in sorted(histogram.items())},
                    "shots": shots_run,
                }
            )
            base = f"/v0.4/jobs/{held.job_id}/variants/{vid}/results"
            wire.append(
                {
                    "variant_id": vid,
                    "qubit_map": list(variant.qubit_map),
                    "shots": variant.shots,
                    "results": {
                        k: {"url": f"{base}/{k}"} for k in ("probabilities", "histogram", "shots")
                    },
                }
            )
        total = sum(pooled.values())
        return queue.Outcome(
            probabilities={str(k): pooled[k] / total for k in sorted(pooled)},
            histogram={str(k): pooled[k] for k in sorted(pooled)},
            shots=samples,
            variants=stored,
            output={
                "error_mitigation": {"debiasing": {"variants": wire}},
                "simulation": _simulation([v.result for v in variants]),
            },
            stats=queue.billed(held.stats),
            execution_duration_ms=0,
        )


def compute_isolated(task: isolation.Task) -> queue.Outcome:
    """A job's computation in its child process (runtime/isolation.py): no database (the
    device model comes with the task), no stop rules (the worker kills the child)."""
    worker = Worker(
        settings=task.settings,
        sessions=sessionmaker(),  # unbound: any database access would fail
        wakeup=ThreadWakeup(),
        catalog=task.catalog,
        name=f"child-{os.getpid()}",
    )
    return worker.compute(task.held, check=_no_stop, device=task.device)


def _no_stop() -> None:
    pass


def mps_limits(settings: Settings) -> Limits:
    """The matrix-product-state limits of the settings; the time budget is the timeout."""
    return Limits(
        max_bond=settings.mps_max_bond,
        max_discarded=settings.mps_max_discarded,
        max_seconds=settings.simulation_timeout_s,
    )


def _keys(probabilities: Mapping[int, float]) -> dict[str, float]:
    if isinstance(probabilities, Probabilities):  # exact answers: two arrays, keys ascending
        keys = map(str, probabilities.outcomes.tolist())
        return dict(zip(keys, probabilities.probs.tolist(), strict=True))
    return {str(k): float(v) for k, v in sorted(probabilities.items())}


def _simulation(results: Sequence[RunResult]) -> dict[str, Any]:
    """``output.simulation``: the method, the width simulated (the qubits the circuit uses,
    issue 16 §2) and, for matrix-product states, the bond dimension and discarded weight."""
    if not results:
        return {"method": "none"}
    out: dict[str, Any] = {
        "method": results[0].method,
        "simulated_qubits": max(r.simulated_qubits for r in results),
    }
    weights = [r.discarded_weight for r in results if r.discarded_weight is not None]
    if weights:
        out["max_bond_dimension"] = max(r.max_bond or 0 for r in results)
        out["discarded_weight"] = max(weights)
    return out


def _exact(result: RunResult, held: queue.Claim) -> queue.Outcome:
    return queue.Outcome(
        probabilities=_keys(result.probabilities),
        histogram=None,
        shots=None,
        variants=None,
        output={"simulation": _simulation([result])},
        stats=queue.billed(held.stats),
        execution_duration_ms=0,
    )


def _sampled(result: RunResult, held: queue.Claim) -> queue.Outcome:
    histogram = result.histogram or {}
    return queue.Outcome(
        probabilities=_keys(result.probabilities),
        histogram={str(k): int(v) for k, v in sorted(histogram.items())},
        shots=[str(s) for s in (result.samples or [])],
        variants=None,
        output={"simulation": _simulation([result])},
        stats=queue.billed(held.stats),
        execution_duration_ms=0,
    )


def _keys_of(probabilities: Mapping[int, float]) -> list[int]:
    if isinstance(probabilities, Probabilities):
        return [int(k) for k in probabilities.outcomes.tolist()]
    return [int(k) for k in probabilities]


def _with_report(outcome: queue.Outcome, report: dict[str, Any]) -> queue.Outcome:
    output = dict(outcome.output)
    mitigation = dict(output.get("error_mitigation") or {})
    mitigation["symmetry_verification"] = report
    output["error_mitigation"] = mitigation
    return replace(outcome, output=output)


def _with_duration(outcome: queue.Outcome, elapsed_ms: int) -> queue.Outcome:
    return replace(outcome, execution_duration_ms=elapsed_ms)


def _sleep_predicted(held: queue.Claim, check: Any) -> None:
    remaining = float(held.stats.get("predicted_quantum_compute_time_us", 0)) / 1e6
    while remaining > 0:
        check()
        step = min(0.25, remaining)
        time.sleep(step)
        remaining -= step


def host_budget(settings: Settings) -> budget.HostBudget | None:
    """The memory budget this host's workers share (issue 16; ``IONSTACK_HOST_MEMORY_BYTES``)."""
    if settings.host_memory_bytes == 0:
        return None
    total = settings.host_memory_bytes
    if total is None:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * 3 // 4
    return budget.HostBudget(settings.data_dir / "memory", total_bytes=total)


def run_worker_process(
    settings: Settings, *, concurrency: int = 1, metrics_port: int | None = None
) -> None:
    """The body of ``ionstack worker``: loops until SIGTERM/SIGINT, then stops gracefully.

    ``metrics_port`` serves this process's own metrics (job run times, worker heartbeats) over
    HTTP, for a worker on another machine than the API that would otherwise scrape them.
    """
    from ionstack.store.database import make_engine, make_sessionmaker, migrate

    engine = make_engine(
        settings.effective_database_url,
        pool_size=max(2, 2 * concurrency),
        max_overflow=2,
        sqlite_synchronous=settings.sqlite_synchronous,
    )
    if settings.auto_migrate:
        migrate(engine)
    sessions = make_sessionmaker(engine)
    shutdown = threading.Event()
    wakeups = [wakeup_for(engine, listen=True) for _ in range(concurrency)]
    budget.use(host_budget(settings))
    if settings.isolate_above_bytes:
        threading.Thread(target=isolation.warm, name="forkserver", daemon=True).start()

    def _stop(signum: int, _frame: object) -> None:
        shutdown.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    metrics = Metrics()  # in the server's multiprocess directory when `serve` started us
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=settings.host, registry=metrics.registry())
    workers = [
        Worker(settings=settings, sessions=sessions, wakeup=w, shutdown=shutdown, metrics=metrics)
        for w in wakeups
    ]
    threads = [
        threading.Thread(target=w.run_forever, name=f"worker-{i}") for i, w in enumerate(workers)
    ]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        for t in threads:
            t.join(timeout=0.5)
    for w in wakeups:
        w.close()
    engine.dispose()
