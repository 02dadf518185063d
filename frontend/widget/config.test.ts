import { describe, expect, it } from "vitest";
import { pageUrl, readWidgetConfig, safeColor } from "./config";

describe("readWidgetConfig", () => {
  it("reads the script's data attributes and the site origin from its src", () => {
    const config = readWidgetConfig(
      {
        voiceAgentProfile: "restaurant",
        voiceAgentLabel: "Order by voice",
        voiceAgentColor: "#0a7",
        voiceAgentPosition: "bottom-left",
        voiceAgentContextOrderId: "42",
        voiceAgentContextPlan: "gold",
      },
      "https://erp.example.com/assets/voice_agent/dist/widget.js?v=3",
    );
    expect(config).toEqual({
      siteOrigin: "https://erp.example.com",
      profile: "restaurant",
      label: "Order by voice",
      color: "#0a7",
      position: "bottom-left",
      mode: "iframe",
      context: { order_id: "42", plan: "gold" },
    });
    expect(pageUrl(config)).toBe("https://erp.example.com/voice-agent?embed=1&profile=restaurant");
  });

  it("falls back to safe defaults", () => {
    const config = readWidgetConfig({ voiceAgentPosition: "top", voiceAgentMode: "weird" }, "https://erp.example.com/w.js");
    expect([config.label, config.color, config.position, config.mode]).toEqual(["Talk to us", "#2454d6", "bottom-right", "iframe"]);
    expect(pageUrl(config)).toBe("https://erp.example.com/voice-agent?embed=1");
  });
});

describe("safeColor", () => {
  it.each(["#fff", "#2454d6", "rebeccapurple", "rgb(10, 20, 30)", "hsl(200 50% 40%)"])("keeps %s", (c) => expect(safeColor(c)).toBe(c));
  it.each(["red;}body{display:none", "url(x)", "expression(alert(1))", "#12345", ""])("replaces %j", (c) =>
    expect(safeColor(c)).toBe("#2454d6"),
  );
});
