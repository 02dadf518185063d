import { describe, expect, it } from "vitest";
import { parseConfig, parseGrant } from "./config";

describe("parseConfig", () => {
  it("keeps well-formed profiles and origins", () => {
    const config = parseConfig(
      JSON.stringify({
        profiles: [{ name: "dental", title: "Book a visit", use_case: "appointment", description: "d", greeting: "g" }, { title: "no name" }, 5],
        allowedOrigins: ["https://shop.example.com", 7],
        siteName: "Acme",
      }),
    );
    expect(config.profiles.map((p) => p.name)).toEqual(["dental"]);
    expect(config.allowedOrigins).toEqual(["https://shop.example.com"]);
    expect(config.siteName).toBe("Acme");
    expect(config.csrfToken).toBe("");
  });

  it("an unreadable config gives an empty page, not a crash", () => {
    expect(parseConfig("{oops").profiles).toEqual([]);
    expect(parseConfig(undefined).allowedOrigins).toEqual([]);
  });
});

describe("parseGrant", () => {
  const grant = { session_id: "VS-1", client_token: "t", join_url: "wss://voice.ultravox.ai/calls/1", max_duration_sec: 300, profile_title: "X" };

  it("accepts the create_session contract", () => {
    expect(parseGrant(grant)).toEqual(grant);
  });

  it.each([
    ["missing token", { ...grant, client_token: "" }],
    ["http join url", { ...grant, join_url: "https://voice.ultravox.ai/calls/1" }],
    ["bad join url", { ...grant, join_url: "::" }],
    ["zero duration", { ...grant, max_duration_sec: 0 }],
    ["null", null],
  ])("refuses %s", (_, value) => expect(parseGrant(value)).toBeNull());
});
