import { describe, expect, it } from "vitest";
import { describeTime, formatClock } from "./format";

describe("formatClock", () => {
  it.each([
    [0, "0:00"],
    [9.9, "0:09"],
    [75, "1:15"],
    [3700, "1:01:40"],
    [-5, "0:00"],
  ])("%f → %s", (s, text) => expect(formatClock(s)).toBe(text));
});

describe("describeTime", () => {
  it("shows elapsed against the limit and warns in the last 30 s", () => {
    expect(describeTime(60, 300)).toEqual({ text: "1:00 / 5:00", label: "1:00 elapsed, 4:00 left", nearEnd: false });
    expect(describeTime(271, 300).nearEnd).toBe(true);
    expect(describeTime(400, 300).label).toBe("6:40 elapsed, 0:00 left");
  });
});
