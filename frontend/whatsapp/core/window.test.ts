import { describe, expect, it } from "vitest";
import { closedWindowText, formatAgo, formatDuration, nextWindowTick, windowState, windowText } from "./window";

const NOW = Date.parse("2026-03-02T12:00:00Z");
const H = 3_600_000;
const MIN = 60_000;

describe("windowState", () => {
  it("is open until window_ends_at, with the time left", () => {
    const s = windowState("2026-03-02T14:30:00+00:00", NOW);
    expect(s).toEqual({ open: true, remainingMs: 2.5 * H, endsAt: NOW + 2.5 * H });
  });

  it("is closed at and after the end, and when the customer never wrote", () => {
    expect(windowState("2026-03-02T12:00:00Z", NOW).open).toBe(false);
    expect(windowState("2026-03-01T09:00:00.123456+00:00", NOW)).toEqual({ open: false, remainingMs: 0, endsAt: NOW - 27 * H + 123 });
    expect(windowState(null, NOW)).toEqual({ open: false, remainingMs: 0, endsAt: null });
    expect(windowState("not a date", NOW).open).toBe(false);
  });
});

describe("formatDuration", () => {
  it.each([
    [24 * H, "24 h 00 min"],
    [23 * H + 59 * MIN + 59_000, "23 h 59 min"],
    [H + 5 * MIN, "1 h 05 min"],
    [59 * MIN + 59_000, "59 min"],
    [MIN, "1 min"],
    [59_999, "less than a minute"],
    [0, "less than a minute"],
  ])("%i ms -> %s (rounded down)", (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe("windowText", () => {
  it("says what is left while open", () => {
    expect(windowText(windowState("2026-03-02T15:20:30Z", NOW), NOW)).toBe("Reply window: 3 h 20 min left");
  });

  it("says since when it is closed, coarsely", () => {
    expect(windowText(windowState("2026-03-02T11:15:00Z", NOW), NOW)).toBe("Reply window: closed 45 min ago");
    expect(windowText(windowState("2026-03-01T07:00:00Z", NOW), NOW)).toBe("Reply window: closed 29 h ago");
    expect(formatAgo(80 * H)).toBe("3 days");
    expect(windowText(windowState(null, NOW), NOW)).toBe("Reply window: not open (the customer has not written)");
  });

  it("explains the closed window with the server's sentence, or the first-contact rule", () => {
    expect(closedWindowText(windowState("2026-03-01T07:00:00Z", NOW))).toBe(
      "More than 24 hours have passed since the customer last wrote: only a template can be sent until they write again.",
    );
    expect(closedWindowText(windowState(null, NOW))).toMatch(/has not written to this number yet/);
  });

  it("ticks at the next whole minute while open", () => {
    expect(nextWindowTick({ open: true, remainingMs: 5 * MIN + 12_000, endsAt: 0 })).toBe(12_000);
    expect(nextWindowTick({ open: true, remainingMs: 5 * MIN, endsAt: 0 })).toBe(MIN);
    expect(nextWindowTick({ open: true, remainingMs: 100, endsAt: 0 })).toBe(250);
  });
});
