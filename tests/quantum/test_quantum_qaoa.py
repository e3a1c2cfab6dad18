"""Max-cut QAOA: graph parsing, cut values and solutions against brute force.

QAOA is a heuristic, so the solver's claim checked here is the one it makes: the returned
bitstring was sampled, its reported value is its true cut (counted edge by edge in this file),
and on small graphs — where the optimized distribution puts real weight on the optimum — it is
the brute-force maximum.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from qhelpers import SeededRuns

from ionstack.errors import BadRequest
from ionstack.quantum import qaoa
from ionstack.quantum.circuit import Circuit
from ionstack.quantum.noise import noise_model
from ionstack.quantum.simulate import RunResult, run

Edges = list[tuple[int, int, float]]


def adjacency(n: int, edges: Edges, ids: list[Any] | None = None) -> dict[str, Any]:
    """NetworkX ``adjacency_data`` as the spec's example writes it."""
    names = ids or list(range(n))
    nbrs: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    for a, b, w in edges:
        nbrs[a].append({"id": names[b], "weight": w})
        nbrs[b].append({"id": names[a], "weight": w})
    return {
        "directed": False,
        "multigraph": False,
        "graph": [],
        "nodes": [{"id": x} for x in names],
        "adjacency": nbrs,
    }


def true_cut(bitstring: str, edges: Edges) -> float:
    """Node i is character ``len − 1 − i`` (Q-CTRL's order, node 0 rightmost)."""
    side = bitstring[::-1]
    return sum(w for a, b, w in edges if side[a] != side[b])


def brute_force(n: int, edges: Edges) -> float:
    best = 0.0
    for bits in itertools.product("01", repeat=n):
        best = max(best, true_cut("".join(bits), edges))
    return best


def random_graph(n: int, p: float, seed: int, weighted: bool = False) -> Edges:
    rng = np.random.default_rng(seed)
    return [
        (a, b, float(rng.integers(1, 4)) if weighted else 1.0)
        for a in range(n)
        for b in range(a + 1, n)
        if rng.random() < p
    ]


def ideal(circuit: Circuit, label: str) -> RunResult:
    return run(circuit, shots=None, noise=None, seed=1)


# --------------------------------------------------------------------------- parsing


def test_spec_example_is_a_triangle() -> None:
    example = {
        "directed": False,
        "multigraph": False,
        "graph": [],
        "nodes": [{"id": 0}, {"id": 1}, {"id": 2}],
        "adjacency": [[{"id": 1}, {"id": 2}], [{"id": 0}, {"id": 2}], [{"id": 0}, {"id": 1}]],
    }
    graph = qaoa.load_job({"problem_type": "maxcut", "problem": example})
    assert graph.nodes == (0, 1, 2)
    assert graph.edges == ((0, 1, 1.0), (0, 2, 1.0), (1, 2, 1.0))


def test_node_link_and_string_ids_give_the_same_graph() -> None:
    ids = ["a", "b", "c", "d"]
    edges = [(0, 1, 2.0), (1, 2, 1.0), (2, 3, 0.5), (3, 0, 1.0)]
    from_adjacency = qaoa.parse_graph(adjacency(4, edges, ids))
    node_link = {
        "nodes": [{"id": x} for x in ids],
        "links": [{"source": ids[a], "target": ids[b], "weight": w} for a, b, w in edges],
    }
    assert qaoa.parse_graph(node_link) == from_adjacency
    assert from_adjacency.nodes == tuple(ids)


@pytest.mark.parametrize(
    ("problem", "key"),
    [
        ("nope", "input.problem"),
        ({**adjacency(2, [(0, 1, 1.0)]), "directed": True}, "input.problem.directed"),
        ({**adjacency(2, [(0, 1, 1.0)]), "multigraph": True}, "input.problem.multigraph"),
        ({"nodes": [], "adjacency": []}, "input.problem.nodes"),
        ({"nodes": [{"id": 0}, {"id": 0}], "adjacency": [[], []]}, "input.problem.nodes.1.id"),
        ({"nodes": [{"name": 0}], "adjacency": [[]]}, "input.problem.nodes.0"),
        ({"nodes": [{"id": 0}, {"id": 1}], "adjacency": [[]]}, "input.problem.adjacency"),
        (
            {"nodes": [{"id": 0}, {"id": 1}], "adjacency": [[{"id": 7}], []]},
            "input.problem.adjacency.0.0.id",
        ),
        (
            {"nodes": [{"id": 0}, {"id": 1}], "adjacency": [[{"id": 1, "weight": "x"}], []]},
            "input.problem.adjacency.0.0.weight",
        ),
        (
            {
                "nodes": [{"id": 0}, {"id": 1}],
                "adjacency": [[{"id": 1, "weight": 1}], [{"id": 0, "weight": 2}]],
            },
            "input.problem.adjacency.1.0.weight",
        ),
        ({"nodes": [{"id": 0}]}, "input.problem.adjacency"),
        (
            {"nodes": [{"id": 0}], "links": [{"source": 0, "target": 9}]},
            "input.problem.links.0.target",
        ),
    ],
)
def test_malformed_graph_is_a_400_naming_the_key(problem: Any, key: str) -> None:
    with pytest.raises(BadRequest) as caught:
        qaoa.load_job({"problem_type": "maxcut", "problem": problem})
    assert caught.value.keys == [key]


def test_only_maxcut_is_served() -> None:
    with pytest.raises(BadRequest) as caught:
        qaoa.load_job({"problem_type": "tsp", "problem": adjacency(2, [])})
    assert caught.value.keys == ["input.problem_type"]


# --------------------------------------------------------------------------- cuts


def test_cut_values_match_edge_counting_on_16_nodes() -> None:
    n = 16
    edges = random_graph(n, 0.3, 5, weighted=True)
    graph = qaoa.parse_graph(adjacency(n, edges))
    outcomes = np.arange(1 << n, dtype=np.int64)
    values = qaoa.cut_values(graph, outcomes)
    rng = np.random.default_rng(0)
    for k in rng.integers(0, 1 << n, 300):
        assert values[k] == true_cut(format(int(k), f"0{n}b"), edges)
    assert values.max() == brute_force_vectorless(n, edges)


def brute_force_vectorless(n: int, edges: Edges) -> float:
    """Brute force by bit loops (independent of cut_values)."""
    best = 0.0
    for k in range(1 << n):
        value = 0.0
        for a, b, w in edges:
            if ((k >> a) & 1) != ((k >> b) & 1):
                value += w
        best = max(best, value)
    return best


# --------------------------------------------------------------------------- solving


@pytest.mark.parametrize(
    ("n", "p", "seed", "weighted"),
    [
        (2, 1.0, 0, False),
        (3, 1.0, 0, False),
        (4, 0.6, 1, False),
        (5, 0.5, 2, False),
        (6, 0.5, 3, True),
        (7, 0.4, 4, False),
        (8, 0.5, 5, True),
    ],
)
def test_ideal_solution_is_the_brute_force_optimum(
    n: int, p: float, seed: int, weighted: bool
) -> None:
    edges = random_graph(n, p, seed, weighted)
    graph = qaoa.parse_graph(adjacency(n, edges))
    solution = qaoa.solve(graph, execute=ideal, shots=1000, seed=seed + 1)
    assert solution.cut_value == true_cut(solution.bitstring, edges)
    assert solution.cut_value == brute_force(n, edges)
    assert solution.bitstring == format(solution.outcome, f"0{n}b")
    assert sum(solution.probabilities.values()) == pytest.approx(1.0)
    # the optimizer improved on the uniform superposition (expected cut = half the weight)
    assert solution.expected_cut > 0.5 * sum(w for _, _, w in edges) or not edges
    assert solution.evaluations <= qaoa.DEFAULT_MAX_EVALUATIONS


def test_noisy_solution_is_sampled_and_exact_about_its_value() -> None:
    n = 6
    edges = random_graph(n, 0.5, 8)
    graph = qaoa.parse_graph(adjacency(n, edges))
    model = noise_model("aria-1")

    noisy = SeededRuns(shots=200, seed=3, noise=model)  # each run's seed fixed by its label
    solution = qaoa.solve(graph, execute=noisy, shots=200, seed=3)
    assert solution.histogram is not None and sum(solution.histogram.values()) == 200
    assert solution.cut_value == true_cut(solution.bitstring, edges), noisy
    assert solution.cut_value == brute_force(n, edges), noisy


def test_partition_lists_node_ids_by_side() -> None:
    edges = [(0, 1, 1.0), (1, 2, 1.0)]
    graph = qaoa.parse_graph(adjacency(3, edges, ["x", "y", "z"]))
    solution = qaoa.solve(graph, execute=ideal, shots=200, seed=1)
    assert solution.cut_value == 2.0
    sides = solution.partition(graph)
    assert sorted(map(sorted, sides)) == [["x", "z"], ["y"]]


def test_qaoa_circuit_prepares_the_textbook_p1_state() -> None:
    # p = 1 on one edge: ⟨C⟩ = (1 + sin(4β)·sin(γ))/2 (Farhi et al. for a single edge)
    graph = qaoa.parse_graph(adjacency(2, [(0, 1, 1.0)]))
    for gamma, beta in ((0.3, 0.2), (1.1, -0.4), (2.0, 0.7)):
        probs = run(
            qaoa.qaoa_circuit(graph, [gamma], [beta]), shots=None, noise=None, seed=1
        ).probabilities
        expected = probs.get(1, 0.0) + probs.get(2, 0.0)
        assert expected == pytest.approx((1 + np.sin(4 * beta) * np.sin(gamma)) / 2, abs=1e-9)
