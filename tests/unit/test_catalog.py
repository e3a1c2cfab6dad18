from __future__ import annotations

from datetime import date

from ionstack.catalog import Catalog, all_to_all, characterization_for, characterization_id


def test_catalog_matches_semantics_3_1() -> None:
    catalog = Catalog()
    expected = {
        "simulator": (29, "available"),
        "qpu.aria-1": (25, "available"),
        "qpu.aria-2": (25, "retired"),
        "qpu.forte-1": (36, "available"),
        "qpu.forte-enterprise-1": (36, "available"),
        "qpu.forte-enterprise-2": (36, "unavailable"),
        "qpu.forte-enterprise-3": (36, "unavailable"),
    }
    assert {b.name: (b.qubits, b.status) for b in catalog} == expected
    assert catalog.get("qpu.aria-1") is not None and catalog.get("qpu.aria-1").gate_basis == "MS"  # type: ignore[union-attr]
    assert catalog.get("qpu.forte-1").gate_basis == "ZZ"  # type: ignore[union-attr]
    assert catalog.get("qpu.qpu") is None


def test_characterizations_are_deterministic_and_near_the_documented_values() -> None:
    aria = Catalog().get("qpu.aria-1")
    assert aria is not None
    day = date(2026, 1, 2)
    one, two = characterization_for(aria, day), characterization_for(aria, day)
    assert one == two
    assert one.id == characterization_id("qpu.aria-1", day)
    assert abs(one.fidelity_2q - 0.9960) <= 1e-3
    assert abs(one.fidelity_1q - 0.9995) <= 1e-4
    assert one.fidelity_1q < 1 and one.fidelity_2q < 1 and one.fidelity_spam < 1
    assert characterization_for(aria, date(2026, 1, 3)).id != one.id


def test_connectivity_is_all_to_all() -> None:
    pairs = all_to_all(4)
    assert pairs == [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    assert len(all_to_all(36)) == 36 * 35 // 2
