"""Identifiers: UUIDv7 for time-ordered resources, IonQ-style user ids, API keys, hashes."""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
import uuid

#: every generated API key starts with this, so leaked keys are easy to recognise
KEY_PREFIX = "isk_"
#: how many leading characters of a key are stored in clear to tell keys apart
SHOWN_PREFIX_LEN = 12


_uuid7_lock = threading.Lock()
_uuid7_last_ms = 0
_uuid7_seq = 0


def uuid7() -> str:
    """A UUIDv7 (RFC 9562): 48-bit millisecond timestamp, then a 12-bit counter, then random bits,
    as IonQ job ids.

    Within one process ids are strictly increasing, also within a millisecond (RFC 9562 §6.2
    method 1: ``rand_a`` is a counter that starts at a random value in its lower half each
    millisecond; on overflow the timestamp moves on by one). The queue claims jobs in id order,
    so a multi-circuit job's children and submissions written in one transaction run in the order
    they were created.
    """
    global _uuid7_last_ms, _uuid7_seq
    with _uuid7_lock:
        ms = time.time_ns() // 1_000_000
        if ms > _uuid7_last_ms:
            _uuid7_last_ms, _uuid7_seq = ms, secrets.randbits(11)
        else:
            _uuid7_seq += 1
            if _uuid7_seq > 0xFFF:
                _uuid7_last_ms, _uuid7_seq = _uuid7_last_ms + 1, 0
        ms, seq = _uuid7_last_ms, _uuid7_seq
    rand = int.from_bytes(os.urandom(8), "big")
    value = (ms & (2**48 - 1)) << 80
    value |= 0x7 << 76
    value |= seq << 64
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
