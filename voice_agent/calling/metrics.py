"""Call durations and the quality summary (running means over quality samples)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Durations:
    ring: float
    talk: float
    total: float


def _seconds(start: datetime | None, end: datetime | None) -> float:
    if start is None or end is None:
        return 0.0
    return max(0.0, (end - start).total_seconds())


def durations(
    started: datetime | None, connected: datetime | None, ended: datetime | None, now: datetime | None = None
) -> Durations:
    """ring = started -> connected (-> end or now when never connected); talk = connected -> end;
    total = started -> end. A live call counts up to `now`; a call without `now` nor end counts 0."""
    end = ended or now
    ring_end = connected if connected is not None else end
    return Durations(
        ring=round(_seconds(started, ring_end), 3),
        talk=round(_seconds(connected, end), 3),
        total=round(_seconds(started, end), 3),
    )


@dataclass
class QualitySummary:
    samples: int = 0
    packet_loss_pct: float = 0.0
    jitter_ms: float = 0.0
    bitrate_kbps: float = 0.0
    rtt_samples: int = 0
    rtt_ms: float = 0.0

    def add(self, sample: dict[str, Any]) -> QualitySummary:
        """The summary with one more quality.sample payload folded into the running means."""
        n = self.samples + 1
        rtt = sample.get("rttMs")
        rtt_n = self.rtt_samples + (1 if rtt is not None else 0)
        return QualitySummary(
            samples=n,
            packet_loss_pct=self.packet_loss_pct
            + (float(sample["packetLossPct"]) - self.packet_loss_pct) / n,
            jitter_ms=self.jitter_ms + (float(sample["jitterMs"]) - self.jitter_ms) / n,
            bitrate_kbps=self.bitrate_kbps + (float(sample["bitrateKbps"]) - self.bitrate_kbps) / n,
            rtt_samples=rtt_n,
            rtt_ms=self.rtt_ms + (float(rtt) - self.rtt_ms) / rtt_n if rtt is not None else self.rtt_ms,
        )

    def mos(self) -> float | None:
        return (
            mos_score(self.packet_loss_pct, self.jitter_ms, self.rtt_ms if self.rtt_samples else None)
            if self.samples
            else None
        )

    def label(self) -> str:
        return quality_label(self.mos())

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "mos": self.mos(), "label": self.label()}


def mos_score(packet_loss_pct: float, jitter_ms: float, rtt_ms: float | None) -> float:
    """MOS-like score 1..4.5 from the simplified E-model (ITU-T G.107 R factor):
    effective latency = one-way delay + 2 x jitter + 10 ms codec delay."""
    one_way = (rtt_ms or 0.0) / 2
    effective_latency = one_way + 2 * jitter_ms + 10
    if effective_latency < 160:
        r = 93.2 - effective_latency / 40
    else:
        r = 93.2 - (effective_latency - 120) / 10
    r -= 2.5 * packet_loss_pct
    r = min(max(r, 0.0), 100.0)
    mos = 1 + 0.035 * r + 0.000007 * r * (r - 60) * (100 - r)
    return round(min(max(mos, 1.0), 4.5), 2)


QUALITY_LABELS = ((4.3, "Excellent"), (4.0, "Good"), (3.6, "Fair"), (3.1, "Poor"))


def quality_label(mos: float | None) -> str:
    if mos is None:
        return ""
    for threshold, label in QUALITY_LABELS:
        if mos >= threshold:
            return label
    return "Bad"
