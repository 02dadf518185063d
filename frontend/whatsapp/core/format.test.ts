import { describe, expect, it } from "vitest";
import { formatBytes, formatListTime, formatMessageTime } from "./format";

const NOW = Date.parse("2026-03-04T15:00:00Z");

describe("formatListTime", () => {
  it("shows the time today, 'Yesterday', a weekday this week, else a date", () => {
    expect(formatListTime("2026-03-04T09:05:00Z", NOW, "UTC", "en-GB")).toBe("09:05");
    expect(formatListTime("2026-03-03T23:59:00Z", NOW, "UTC", "en-GB")).toBe("Yesterday");
    expect(formatListTime("2026-03-01T10:00:00Z", NOW, "UTC", "en-GB")).toBe("Sun");
    expect(formatListTime("2026-01-20T10:00:00Z", NOW, "UTC", "en-GB")).toBe("20 Jan 26");
    expect(formatListTime(null, NOW)).toBe("");
  });

  it("counts days in the user's time zone, not UTC", () => {
    // 23:30 UTC on the 3rd is 00:30 on the 4th in Berlin (UTC+1 in March).
    expect(formatListTime("2026-03-03T23:30:00Z", NOW, "Europe/Berlin", "en-GB")).toBe("00:30");
  });
});

describe("formatMessageTime", () => {
  it("adds the date when it is not today", () => {
    expect(formatMessageTime("2026-03-04T14:59:00Z", NOW, "UTC", "en-GB")).toBe("14:59");
    expect(formatMessageTime("2026-02-28T08:00:00Z", NOW, "UTC", "en-GB")).toBe("28 Feb, 08:00");
  });
});

describe("formatBytes", () => {
  it.each([
    [512, "512 B"],
    [820 * 1024, "820 KB"],
    [4.2 * 1024 * 1024, "4.2 MB"],
    [5 * 1024 * 1024, "5 MB"],
    [16 * 1024 * 1024, "16 MB"],
    [null, ""],
    [-1, ""],
  ])("%s -> %s", (n, text) => expect(formatBytes(n)).toBe(text));
});
