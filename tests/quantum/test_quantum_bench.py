"""bench/engine.py --quick runs end to end and prints a ratio for every workload (issue 4 §7).

Only that it runs and reports: the figures themselves are in bench/README.md, never asserted.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "engine.py"


def test_engine_bench_quick_prints_every_ratio() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    ratio = r"\s+\d+\.\d\d\s+≤ "
    for row in (
        r"\(a\) 20q depth-10 ideal probabilities .*qsim raw .*qsimcirq",
        r"\(b\) 10q depth-10 aria-1, 1000 shots .*qsim trajectories t=1",
        r"\(c\) Bell, 1000 shots, per call .*qulacs .*lightning",
        r"\(e\) 12q, 3 mid-circuit measurements, 1000 shots, ideal .*terminal measurements only",
        r"\(e\) 12q, 3 mid-circuit measurements, 1000 shots, aria-1 .*terminal measurements only",
    ):
        assert re.search(row + ".*" + ratio, out.stdout), (row, out.stdout)
    assert "load average at start" in out.stdout
