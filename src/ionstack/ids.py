"""Identifiers: UUIDv7 for time-ordered resources, IonQ-style user ids, API keys, hashes."""

from __future__ import annotations

import hashlib
import os
import secrets
import time
import uuid

#: every generated API key starts with this, so leaked keys are easy to recognise
KEY_PREFIX = "isk_"
#: how many leading characters of a key are stored in clear to tell keys apart
SHOWN_PREFIX_LEN = 12


def uuid7() -> str:
    """A UUIDv7 (RFC 9562): 48-bit millisecond timestamp then random bits, as IonQ job ids."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & (2**48 - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & (2**62 - 1)
    return str(uuid.UUID(int=value))


def user_id() -> str:
    """24 hex characters, the shape of IonQ's ``submitter_id``."""
    return secrets.token_hex(12)


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """SHA-256 hex of an API key: the only form in which keys are stored."""
    return hashlib.sha256(key.encode()).hexdigest()


def shown_prefix(key: str) -> str:
    return key[:SHOWN_PREFIX_LEN]
