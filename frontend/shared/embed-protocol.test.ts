import { describe, expect, it } from "vitest";
import { CONTEXT, isAllowedOrigin, parseContextMessage } from "./embed-protocol";

describe("isAllowedOrigin", () => {
  const allowed = ["https://shop.example.com", "http://localhost:8080/"];
  it.each([
    ["https://shop.example.com", true],
    ["http://localhost:8080", true],
    ["https://shop.example.com:444", false],
    ["http://shop.example.com", false],
    ["https://evil.example.com", false],
    ["null", false],
    ["", false],
  ])("%s → %s", (origin, ok) => expect(isAllowedOrigin(origin, allowed)).toBe(ok));

  it("an empty allow-list admits nobody", () => {
    expect(isAllowedOrigin("https://shop.example.com", [])).toBe(false);
  });
});

describe("parseContextMessage", () => {
  const good = { type: CONTEXT, context: { page_url: "https://shop.example.com/p", page_title: "Shop", data: { order_id: "42" } } };

  it("returns the context of a well-formed message", () => {
    expect(parseContextMessage(good)).toEqual(good.context);
    expect(parseContextMessage({ type: CONTEXT, context: { page_url: "https://a.b/", page_title: "" } })?.data).toEqual({});
  });

  it.each([
    ["other type", { ...good, type: "x" }],
    ["javascript url", { ...good, context: { ...good.context, page_url: "javascript:alert(1)" } }],
    ["non-string data", { ...good, context: { ...good.context, data: { n: 1 } } }],
    ["huge title", { ...good, context: { ...good.context, page_title: "x".repeat(3000) } }],
    ["string", "voice-agent:context"],
  ])("refuses %s", (_, msg) => expect(parseContextMessage(msg)).toBeNull());
});
