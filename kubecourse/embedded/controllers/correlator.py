"""What client-go's legacy event recorder does to an Event before writing it.

Faithful (`tools/record`'s `EventCorrelator`), in upstream's order:

1. The aggregator: events about one object from one source, of one type and reason,
   that differ only in their message are "similar"; from the tenth distinct message
   within 10 minutes on, they become one event, `(combined from similar events): `
   and the latest message, whose `count` grows.  So a ReplicaSet refused by a quota
   (every refusal names a new generated pod name) shows `FailedCreate (x6 over 10s)`
   after its first nine events rather than one event per retry.
2. The logger: an event identical to one already written bumps its `count` and
   `lastTimestamp` (done by `Context.record_event`).
3. The spam filter: every source (component and host) has a token bucket per object,
   25 events of burst refilled one per 5 minutes; an event beyond it is dropped, so a
   pod crash-looping for hours stops adding events, and a ReplicaSet that created
   hundreds of Pods says nothing more about them for a while (its conditions still do).

Simplified: the caches are unbounded dictionaries (upstream: LRU caches of 4096
entries), and the events.k8s.io recorder (the scheduler's) is not filtered.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

AggregateKey = tuple[str, ...]

MAX_SIMILAR_EVENTS = 10  # defaultAggregateMaxEvents
AGGREGATE_INTERVAL = 600.0  # defaultAggregateIntervalInSeconds
SPAM_BURST = 25.0  # defaultSpamBurst
SPAM_QPS = 1.0 / 300.0  # defaultSpamQPS: one every 5 minutes
COMBINED_PREFIX = "(combined from similar events): "


@dataclass
class _Similar:
    messages: set[str] = field(default_factory=set)
    last: float = 0.0


@dataclass
class _Bucket:
    tokens: float = SPAM_BURST
    last: float = field(default_factory=time.monotonic)


class EventCorrelator:
    def __init__(self) -> None:
        self._similar: dict[AggregateKey, _Similar] = {}
        self._buckets: dict[AggregateKey, _Bucket] = {}

    def allow(self, source_object: AggregateKey) -> bool:
        """The spam filter: whether one more event about this object from this source
        may be written now."""
        bucket = self._buckets.setdefault(source_object, _Bucket())
        now = time.monotonic()
        bucket.tokens = min(SPAM_BURST, bucket.tokens + (now - bucket.last) * SPAM_QPS)
        bucket.last = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def aggregate(self, similar: AggregateKey, message: str) -> str | None:
        """The combined message when `message` is one too many similar ones, else None
        (the event is written as it is)."""
        now = time.monotonic()
        record = self._similar.get(similar)
        if record is None or now - record.last > AGGREGATE_INTERVAL:
            record = self._similar[similar] = _Similar()
        record.messages.add(message)
        record.last = now
        if len(record.messages) < MAX_SIMILAR_EVENTS:
            return None
        record.messages.pop()  # the set never grows past the threshold
        return COMBINED_PREFIX + message
