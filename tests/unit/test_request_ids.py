"""Request ids as API Gateway and Lambda show them: version-4 UUIDs, never repeated."""

from __future__ import annotations

import re

from golive.http import RandomBytes, new_request_id

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def test_ids_from_pooled_random_bytes_are_unique_uuid4s_across_pool_refills():
    random = RandomBytes()
    ids = [new_request_id(random.take(16)) for _ in range(2000)]  # 32 KB of randomness: eight 4 KiB refills
    assert len(set(ids)) == len(ids)
    assert all(UUID4.fullmatch(request_id) for request_id in ids)
    odd = [random.take(size) for size in (5, 4096, 7, 9000)]  # slices that straddle and exceed a refill
    assert [len(chunk) for chunk in odd] == [5, 4096, 7, 9000]
