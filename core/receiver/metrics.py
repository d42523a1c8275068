"""The receiver's Prometheus metrics (`GET /metrics`), in a registry of its own per app.

A registry per app (not the process-wide default) lets tests and embedders run several receivers in
one process, each counting only its own traffic.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["ReceiverMetrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


@dataclass
class ReceiverMetrics:
    """Counters and histograms of one receiver."""

    registry: CollectorRegistry
    pushes_accepted: Counter
    pushes_duplicate: Counter
    pushes_quarantined: Counter
    pushes_quarantined_by_reason: Counter
    pushes_acknowledged: Counter
    pushes_rejected: Counter
    webhooks: Counter
    webhooks_rejected: Counter
    latency: Histogram
    commit_batch: Histogram

    @classmethod
    def create(cls) -> ReceiverMetrics:
        """A new set of metrics in a new registry."""
        registry = CollectorRegistry()
        prefix = "punchbridge_receiver"
        return cls(
            registry=registry,
            pushes_accepted=Counter(f"{prefix}_pushes_accepted", "Pushed punches stored (new)", registry=registry),
            pushes_duplicate=Counter(
                f"{prefix}_pushes_duplicate", "Pushed punches already stored (re-sent), acknowledged", registry=registry
            ),
            pushes_quarantined=Counter(
                f"{prefix}_pushes_quarantined",
                "Authenticated pushes that could not be used (or had implausible times), quarantined, acknowledged",
                registry=registry,
            ),
            pushes_quarantined_by_reason=Counter(
                f"{prefix}_pushes_quarantined_by_reason",
                "Quarantined pushes by reason (malformed_record, bad_timestamp, implausible_timestamp)",
                ["reason"],
                registry=registry,
            ),
            pushes_acknowledged=Counter(
                f"{prefix}_pushes_acknowledged",
                "Pushes answered as taken, by outcome (stored, duplicate, quarantined): the terminal drops them",
                ["outcome"],
                registry=registry,
            ),
            pushes_rejected=Counter(
                f"{prefix}_pushes_rejected", "Pushes refused, by reason", ["reason"], registry=registry
            ),
            webhooks=Counter(
                f"{prefix}_webhooks",
                "Verified webhook events, by type and outcome (processed, replayed)",
                ["type", "outcome"],
                registry=registry,
            ),
            webhooks_rejected=Counter(
                f"{prefix}_webhooks_rejected", "Webhook deliveries refused, by reason", ["reason"], registry=registry
            ),
            latency=Histogram(
                f"{prefix}_request_seconds",
                "Time from request to reply, by endpoint (push, webhook)",
                ["endpoint"],
                buckets=_LATENCY_BUCKETS,
                registry=registry,
            ),
            commit_batch=Histogram(
                f"{prefix}_commit_batch_size",
                "Writes committed together in one transaction (group commit)",
                buckets=_BATCH_BUCKETS,
                registry=registry,
            ),
        )
