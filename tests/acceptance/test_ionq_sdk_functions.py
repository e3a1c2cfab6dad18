"""The ``ionq`` SDK's ``HamiltonianEnergy`` quantum function, unchanged, against ionstack.

The SDK builds the ansatz with ``qiskit.qasm3.dumps`` and the Hamiltonian from a
``SparsePauliOp``; ``job.results()`` reads ``value`` and ``variance`` from the job's
``results``. The reference energy is Qiskit's own ``Statevector.expectation_value``.
"""

from __future__ import annotations

import ionq
import pytest
from ionq.jobs import HamiltonianEnergy
from ionq.utils.ionq_qiskit import to_ansatz, to_hamiltonian
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp, Statevector

from conftest import Server


def test_hamiltonian_energy_from_the_sdk(server: Server) -> None:
    client = ionq.Client(api_key=server.key, base_url=server.url)
    theta = ParameterVector("θ", 3)
    qc = QuantumCircuit(3)
    qc.h([0, 1, 2])
    qc.cx(0, 1)
    qc.ry(theta[0], 1)
    qc.rzz(theta[1], 1, 2)
    qc.rx(theta[2], 0)
    hamiltonian = SparsePauliOp.from_list([("ZZI", 1.0), ("IXX", -0.5), ("YIY", 0.3), ("III", 2.0)])
    params = [0.3, -0.7, 1.1]
    workload = HamiltonianEnergy(to_ansatz(qc), to_hamiltonian(hamiltonian))
    job = ionq.Backend("simulator", client=client).run(workload, params=params, shots=100)
    result = job.results()
    want = Statevector(qc.assign_parameters(params)).expectation_value(hamiltonian).real
    assert result.value == pytest.approx(want, abs=1e-9)
    assert result.variance == 0.0
