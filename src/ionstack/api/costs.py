"""Cost estimates and organization usage (semantics.md §6.3, §8.3).

``GET /jobs/estimate`` must be routed before ``GET /jobs/{UUID}`` (see ``app.py``). The job's
own cost, ``GET /jobs/{UUID}/cost``, is served with the other job endpoints.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from ionstack.api.deps import Caller, Db, State
from ionstack.service import billing, usage

router = APIRouter(tags=["cost"])


@router.get("/jobs/estimate", operation_id="EstimateJobCost")
def estimate_job_cost(
    caller: Caller,
    db: Db,
    state: State,
    backend: str,
    type: str = "ionq.circuit.v1",
    qubits: Annotated[int, Query(ge=1)] = 25,
    shots: Annotated[int, Query(ge=1, le=1_000_000)] = 1000,
    one_q_gates: Annotated[int, Query(alias="1q_gates", ge=0, le=2**31 - 1)] = 0,
    two_q_gates: Annotated[int, Query(alias="2q_gates", ge=0, le=2**31 - 1)] = 0,
    error_mitigation: bool = False,
    session: Annotated[str | None, Query(description="Sent by qiskit-ionq; ignored")] = None,
) -> JSONResponse:
    """Estimated cost, execution time and current queue time (both in milliseconds) of a job
    with these gate counts. The response carries the v0.4 spec's fields and the newer spec's."""
    query = billing.EstimateQuery(
        backend=backend,
        type=type,
        qubits=qubits,
        shots=shots,
        one_q_gates=one_q_gates,
        two_q_gates=two_q_gates,
        error_mitigation=error_mitigation,
    )
    body = billing.estimate(
        db,
        query,
        caller=caller,
        catalog=state.backends.catalog,
        settings=state.settings,
        now=datetime.now(UTC),
    )
    return JSONResponse(body)


@router.get("/organizations/{organization_id}/usage", operation_id="get-usages", tags=["usage"])
def get_usages(
    organization_id: str,
    caller: Caller,
    db: Db,
    state: State,
    start_date: str | None = None,
    end_date: str | None = None,
    group_by: str | None = None,
    modality: str | None = None,
) -> JSONResponse:
    """The organization's billed usage by day, ISO week or month, newest first, with the top
    5 groups (jobs, projects or users) of each period. Owners only."""
    query = usage.parse_query(
        start_date=start_date,
        end_date=end_date,
        group_by=group_by,
        modality=modality,
        max_days=state.settings.usage_max_days,
    )
    return JSONResponse(usage.report(db, caller, organization_id, query))
