import { describe, expect, it } from "vitest";
import vectors from "../../contracts/vectors/durations.json";
import { formatDuration, wholeSeconds } from "./duration";

describe("durations (contracts/vectors/durations.json, the cases voice_agent/calling/display.py passes too)", () => {
  it.each(vectors.cases)("$seconds s → $text", ({ seconds, wholeSeconds: whole, text }) => {
    expect(wholeSeconds(seconds)).toBe(whole);
    expect(formatDuration(seconds)).toBe(text);
  });

  it("shows a call of 38.6 s as the clock showed it when the call ended", () => {
    expect(formatDuration(38_600 / 1000)).toBe("0:38");
  });

  it("counts what is not a duration as zero", () => {
    expect(formatDuration(Number.NaN)).toBe("0:00");
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe("0:00");
  });
});
