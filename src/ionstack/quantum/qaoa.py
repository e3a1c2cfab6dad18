"""Max-cut by QAOA on our own simulator (``qctrl.qaoa.v1`` jobs; no external service).

**Graph.** ``input.problem`` is a NetworkX ``adjacency_data`` object (the spec's example:
``{"directed", "multigraph", "graph", "nodes": [{"id"}], "adjacency": [[{"id", "weight"?}]]}``);
``node_link_data`` (``"links"`` or ``"edges"`` of ``{"source", "target", "weight"?}``) is read
too. The i-th entry of ``nodes`` is qubit i. Edges are undirected, weights default to 1,
self-loops are ignored (they are never cut); directed graphs and multigraphs are refused.

**Solver.** QAOA with ``p`` layers: ``|+⟩^n``, then per layer ``zz(−γ·w)`` on every edge
(``exp(−iγ·C)`` up to a global phase, ``C = Σ w·(1 − Z_u Z_v)/2``) and ``rx(2β)`` on every
qubit. The optimizer maximizes the expected cut: a coarse (γ, β) grid at p = 1, Nelder–Mead
from the best point, then INTERP initialisation of the next layer and Nelder–Mead again, all
within ``max_evaluations`` circuit runs. Each run goes through the caller's executor (exact
probabilities on the ideal simulator, sampled shots under noise). The returned cut is the best
**sampled** bitstring: ``shots`` draws from the final distribution (ideal), or every shot of
every run (noisy), as Q-CTRL's solver reports the best bitstring found across iterations.

Bitstrings are written like Q-CTRL's ``solution_bitstring``: node 0 is the *rightmost*
character (the binary form of the little-endian outcome).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ionstack.errors import BadRequest
from ionstack.quantum.circuit import Circuit, Gate
from ionstack.quantum.sampling import derive_rng
from ionstack.quantum.simulate import RunResult

Execute = Callable[[Circuit, str], RunResult]
PATH = "input.problem"
DEFAULT_LAYERS = 2
DEFAULT_MAX_EVALUATIONS = 150
GRID = 8


def _bad(message: str, key: str) -> BadRequest:
    return BadRequest(f'"{key}" {message}', keys=[key], source="payload")


@dataclass(frozen=True)
class Graph:
    """An undirected weighted graph; node i (``nodes[i]`` as given) is qubit i."""

    nodes: tuple[Any, ...]
    edges: tuple[tuple[int, int, float], ...]  #: (u < v, weight)

    @property
    def size(self) -> int:
        return len(self.nodes)


# --------------------------------------------------------------------------- parsing


def _node_key(value: object, key: str) -> str:
    if value is None or isinstance(value, bool | dict):
        raise _bad("must be a string or a number", key)
    return json.dumps(value, sort_keys=True)


def _weight(entry: dict[str, Any], key: str) -> float:
    w = entry.get("weight", 1.0)
    if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(w):
        raise _bad("must be a finite number", f"{key}.weight")
    return float(w)


def parse_graph(problem: object) -> Graph:
    """Read a NetworkX adjacency (or node-link) graph; 400 naming the bad key."""
    if not isinstance(problem, dict):
        raise _bad("must be a NetworkX adjacency_data object", PATH)
    if problem.get("directed"):
        raise _bad("must be undirected for maxcut", f"{PATH}.directed")
    if problem.get("multigraph"):
        raise _bad("multigraphs are not supported for maxcut", f"{PATH}.multigraph")
    nodes = problem.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        raise _bad('must be a non-empty array of {"id": …} objects', f"{PATH}.nodes")
    index: dict[str, int] = {}
    for i, node in enumerate(nodes):
        if not isinstance(node, dict) or "id" not in node:
            raise _bad("must be an object with an id", f"{PATH}.nodes.{i}")
        k = _node_key(node["id"], f"{PATH}.nodes.{i}.id")
        if k in index:
            raise _bad("repeats a node id", f"{PATH}.nodes.{i}.id")
        index[k] = i
    if "adjacency" in problem:
        pairs = _adjacency(problem["adjacency"], index, len(nodes))
    elif "links" in problem or "edges" in problem:
        pairs = _links(problem, index)
    else:
        raise _bad("is required (or links/edges)", f"{PATH}.adjacency")
    return Graph(nodes=tuple(n["id"] for n in nodes), edges=_merge(pairs))


def _adjacency(
    adjacency: object, index: dict[str, int], n: int
) -> list[tuple[int, int, float, str]]:
    key = f"{PATH}.adjacency"
    if not isinstance(adjacency, list) or len(adjacency) != n:
        raise _bad(f"must be an array with one neighbour list per node ({n})", key)
    out = []
    for i, neighbours in enumerate(adjacency):
        if not isinstance(neighbours, list):
            raise _bad('must be an array of {"id": …} objects', f"{key}.{i}")
        for j, entry in enumerate(neighbours):
            where = f"{key}.{i}.{j}"
            if not isinstance(entry, dict) or "id" not in entry:
                raise _bad("must be an object with an id", where)
            other = index.get(_node_key(entry["id"], f"{where}.id"))
            if other is None:
                raise _bad("is not a node of the graph", f"{where}.id")
            out.append((i, other, _weight(entry, where), where))
    return out


def _links(problem: dict[str, Any], index: dict[str, int]) -> list[tuple[int, int, float, str]]:
    name = "links" if "links" in problem else "edges"
    key = f"{PATH}.{name}"
    links = problem[name]
    if not isinstance(links, list):
        raise _bad('must be an array of {"source", "target"} objects', key)
    out = []
    for i, link in enumerate(links):
        where = f"{key}.{i}"
        if not isinstance(link, dict) or "source" not in link or "target" not in link:
            raise _bad("must be an object with source and target", where)
        ends = []
        for end in ("source", "target"):
            found = index.get(_node_key(link[end], f"{where}.{end}"))
            if found is None:
                raise _bad("is not a node of the graph", f"{where}.{end}")
            ends.append(found)
        out.append((ends[0], ends[1], _weight(link, where), where))
    return out


def _merge(pairs: Sequence[tuple[int, int, float, str]]) -> tuple[tuple[int, int, float], ...]:
    edges: dict[tuple[int, int], float] = {}
    for a, b, w, where in pairs:
        if a == b:
            continue  # a self-loop is never cut
        pair = (min(a, b), max(a, b))
        if pair in edges and edges[pair] != w:
            raise _bad("gives this edge a different weight than its reverse", f"{where}.weight")
        edges[pair] = w
    return tuple((a, b, w) for (a, b), w in sorted(edges.items()))


def load_job(inp: Mapping[str, Any]) -> Graph:
    """Validate a ``qctrl.qaoa.v1`` input (``problem_type`` ``maxcut`` and its graph); 400."""
    if inp.get("problem_type") != "maxcut":
        raise _bad(f"must be 'maxcut', not {inp.get('problem_type')!r}", "input.problem_type")
    if "problem" not in inp:
        raise _bad("is required", PATH)
    return parse_graph(inp["problem"])


# --------------------------------------------------------------------------- cuts and circuits


def cut_values(graph: Graph, outcomes: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """The cut weight of each outcome (bit i = side of node i)."""
    total = np.zeros(len(outcomes))
    for a, b, w in graph.edges:
        total += w * (((outcomes >> a) ^ (outcomes >> b)) & 1)
    return total


def cut_value(graph: Graph, outcome: int) -> float:
    return float(cut_values(graph, np.array([outcome], dtype=np.int64))[0])


def bitstring(graph: Graph, outcome: int) -> str:
    return format(outcome, f"0{graph.size}b")


def qaoa_circuit(graph: Graph, gammas: Sequence[float], betas: Sequence[float]) -> Circuit:
    n = graph.size
    gates = [Gate(name="h", targets=(q,)) for q in range(n)]
    for gamma, beta in zip(gammas, betas, strict=True):
        gates.extend(
            Gate(name="zz", targets=(a, b), rotation=-gamma * w) for a, b, w in graph.edges
        )
        gates.extend(Gate(name="rx", targets=(q,), rotation=2 * beta) for q in range(n))
    return Circuit(qubits=n, gateset="qis", gates=tuple(gates))


def circuit_shape(graph: Graph, layers: int = DEFAULT_LAYERS) -> Circuit:
    """A representative circuit (for gate counts and limits at submission)."""
    return qaoa_circuit(graph, [0.1] * layers, [0.1] * layers)


# --------------------------------------------------------------------------- solver


@dataclass(frozen=True)
class Solution:
    outcome: int
    bitstring: str
    cut_value: float
    expected_cut: float
    gammas: tuple[float, ...]
    betas: tuple[float, ...]
    evaluations: int
    probabilities: dict[int, float]
    histogram: dict[int, int] | None
    samples: list[int] | None
    method: str

    def partition(self, graph: Graph) -> list[list[Any]]:
        """Node ids on side 0 and on side 1."""
        sides: list[list[Any]] = [[], []]
        for i, node in enumerate(graph.nodes):
            sides[(self.outcome >> i) & 1].append(node)
        return sides


class _Search:
    """The objective: expected cut per parameter vector, with the best shot seen so far."""

    def __init__(
        self, graph: Graph, execute: Execute, check: Callable[[], None], budget: int
    ) -> None:
        self.graph, self.execute, self.check, self.budget = graph, execute, check, budget
        self.evaluations = 0
        self.best: tuple[float, tuple[float, ...]] = (-math.inf, ())
        self.best_shot: tuple[float, int, int] | None = None  # (cut, count, -outcome)

    def expected(self, params: Sequence[float]) -> float:
        self.check()
        p = len(params) // 2
        result = self.execute(
            qaoa_circuit(self.graph, params[:p], params[p:]), f"eval-{self.evaluations}"
        )
        self.evaluations += 1
        value = self._expected(result)
        if value > self.best[0]:
            self.best = (value, tuple(float(x) for x in params))
        return value

    def _expected(self, result: RunResult) -> float:
        outcomes = np.fromiter(result.probabilities, dtype=np.int64)
        weights = np.fromiter(result.probabilities.values(), dtype=np.float64)
        cuts = cut_values(self.graph, outcomes)
        if result.histogram is not None:
            self._remember(result.histogram)
        return float(weights @ cuts / weights.sum())

    def _remember(self, histogram: dict[int, int]) -> None:
        for outcome, count in histogram.items():
            candidate = (cut_value(self.graph, outcome), count, -outcome)
            if self.best_shot is None or candidate > self.best_shot:
                self.best_shot = candidate

    @property
    def left(self) -> int:
        return self.budget - self.evaluations


def _grid(search: _Search, scale: float) -> tuple[float, float]:
    best = (-math.inf, 0.0, 0.0)
    for i in range(GRID):
        for j in range(GRID):
            gamma = (i + 0.5) * math.pi / GRID / scale
            beta = (j + 0.5) * (math.pi / 2) / GRID
            value = search.expected([gamma, beta])
            if value > best[0]:
                best = (value, gamma, beta)
    return best[1], best[2]


def _refine(search: _Search, start: Sequence[float], evaluations: int) -> list[float]:
    from scipy.optimize import minimize  # type: ignore[import-untyped]

    if evaluations <= 0:
        return list(start)
    done = minimize(
        lambda x: -search.expected(list(x)),
        np.asarray(start, dtype=np.float64),
        method="Nelder-Mead",
        options={"maxfev": evaluations, "xatol": 1e-3, "fatol": 1e-4},
    )
    return [float(x) for x in done.x]


def _interp(values: Sequence[float]) -> list[float]:
    """INTERP (Zhou et al. 2020): p layers' angles → p + 1 layers' starting angles."""
    p = len(values)
    padded = [0.0, *values, 0.0]
    return [(i / p) * padded[i] + ((p - i) / p) * padded[i + 1] for i in range(p + 1)]


def solve(
    graph: Graph,
    *,
    execute: Execute,
    shots: int,
    seed: int,
    check: Callable[[], None] | None = None,
    layers: int = DEFAULT_LAYERS,
    max_evaluations: int = DEFAULT_MAX_EVALUATIONS,
) -> Solution:
    """Optimize the QAOA angles for max-cut and return the best sampled cut."""
    check = check or (lambda: None)
    search = _Search(graph, execute, check, max_evaluations - 1)
    scale = max((abs(w) for _, _, w in graph.edges), default=1.0) or 1.0
    gamma, beta = _grid(search, scale)
    params = [gamma, beta]
    for p in range(1, layers + 1):
        if p > 1:
            params = _interp(params[: p - 1]) + _interp(params[p - 1 :])
        share = search.left // (layers - p + 1)
        params = _refine(search, params, share)
    best = list(search.best[1]) if len(search.best[1]) == 2 * layers else params
    p = len(best) // 2
    final = execute(qaoa_circuit(graph, best[:p], best[p:]), "final")
    expected = search._expected(final)
    if final.histogram is None:
        outcome = _best_of_draws(graph, final, shots, seed)
    else:
        assert search.best_shot is not None
        outcome = -search.best_shot[2]
    return Solution(
        outcome=outcome,
        bitstring=bitstring(graph, outcome),
        cut_value=cut_value(graph, outcome),
        expected_cut=expected,
        gammas=tuple(best[:p]),
        betas=tuple(best[p:]),
        evaluations=search.evaluations + 1,
        probabilities=dict(final.probabilities),
        histogram=final.histogram,
        samples=final.samples,
        method=final.method,
    )


def _best_of_draws(graph: Graph, final: RunResult, shots: int, seed: int) -> int:
    outcomes = np.fromiter(final.probabilities, dtype=np.int64)
    weights = np.fromiter(final.probabilities.values(), dtype=np.float64)
    rng = derive_rng(seed, "qaoa-draws")
    drawn = rng.choice(outcomes, size=shots, p=weights / weights.sum())
    unique, counts = np.unique(drawn, return_counts=True)
    cuts = cut_values(graph, unique)
    order = sorted(range(len(unique)), key=lambda k: (-cuts[k], -counts[k], int(unique[k])))
    return int(unique[order[0]])
