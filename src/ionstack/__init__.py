"""ionstack: a self-hosted quantum cloud that speaks the IonQ Cloud Platform API v0.4."""

from __future__ import annotations

__version__ = "0.1.0"
