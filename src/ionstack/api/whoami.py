"""GET /whoami."""

from __future__ import annotations

from fastapi import APIRouter

from ionstack.api.deps import Caller
from ionstack.api.models import Whoami

router = APIRouter(tags=["whoami"])


@router.get("/whoami", response_model=Whoami, operation_id="getWhoami")
def get_whoami(caller: Caller) -> Whoami:
    """The key presented, its name and its project."""
    return Whoami(key_id=caller.key_id, key_name=caller.key_name, project_id=caller.project_id)
