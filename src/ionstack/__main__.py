from __future__ import annotations

from ionstack.cli import main

main()
