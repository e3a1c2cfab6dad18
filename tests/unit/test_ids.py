from __future__ import annotations

import re
import time
import uuid

from ionstack import ids


def test_uuid7_is_a_version_7_rfc_uuid_ordered_by_time() -> None:
    first = ids.uuid7()
    time.sleep(0.002)
    second = ids.uuid7()
    parsed = uuid.UUID(first)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert first < second
    ms = int(first.replace("-", "")[:12], 16)
    assert abs(ms - time.time() * 1000) < 5000


def test_uuid7_increases_strictly_within_a_millisecond() -> None:
    # the queue claims in id order: ids made in the same millisecond must keep creation order
    made = [ids.uuid7() for _ in range(20_000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    same_ms = [m for m in made if m[:13] == made[0][:13]]
    assert len(same_ms) > 1  # the loop makes many per millisecond, so this is exercised
    assert all(uuid.UUID(m).version == 7 and uuid.UUID(m).variant == uuid.RFC_4122 for m in made)


def test_user_ids_look_like_ionq_submitter_ids() -> None:
    assert re.fullmatch(r"[0-9a-f]{24}", ids.user_id())


def test_keys_are_random_and_only_their_hash_and_prefix_are_kept() -> None:
    a, b = ids.new_api_key(), ids.new_api_key()
    assert a != b and a.startswith(ids.KEY_PREFIX) and len(a) > 40
    assert ids.hash_key(a) == ids.hash_key(a) != ids.hash_key(b)
    assert re.fullmatch(r"[0-9a-f]{64}", ids.hash_key(a))
    assert len(ids.shown_prefix(a)) == ids.SHOWN_PREFIX_LEN < len(a)
