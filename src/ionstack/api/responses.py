"""The JSON response of the API: orjson, compact, as Starlette's ``JSONResponse`` otherwise.

Results can hold up to 2^20 outcomes; orjson writes them about ten times faster than the
standard library. Keys that are not strings (outcome integers) are written as strings, NaN and
infinities as ``null`` (JSON has neither); what orjson cannot write (integers past 64 bits)
falls back to the standard library.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:  # integers past 64 bits (a submitted input echoed back)
            return super().render(content)
