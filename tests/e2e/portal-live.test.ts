/// <reference types="node" />
// Live call states and transcript, driven through a scripted UltravoxSession (see portal-live-entry.ts):
// the fake Ultravox has no LiveKit media server, so the real SDK never gets past "connecting".
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { DESKTOP, PHONE, launch, screenshot } from "./portal-browser";
import { startFakeSite, startFakeUltravox, type FakeSite, type FakeUltravox } from "./portal-harness";

let ultravox: FakeUltravox;
let site: FakeSite;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  ultravox = await startFakeUltravox();
  site = await startFakeSite(ultravox.url);
  browser = await launch();
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await site?.stop();
  await ultravox?.stop();
});

afterEach(async () => {
  await context?.close();
  site.calls.length = 0;
});

type Drive = (session: {
  setStatus(s: string): void;
  say(ordinal: number, speaker: "user" | "agent", text: string, isFinal: boolean): void;
  joinedUrl: string;
  isMicMuted: boolean;
  isSpeakerMuted: boolean;
}) => unknown;

async function start(viewport = DESKTOP): Promise<{ page: Page; drive: (fn: Drive) => Promise<unknown> }> {
  context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${site.origin}/voice-agent-live`);
  await page.locator("#va-start").click();
  await page.waitForFunction(() => window.fakeUltravox !== undefined);
  const drive = (fn: Drive) => page.evaluate(`(${fn.toString()})(window.fakeUltravox)`);
  return { page, drive };
}

const status = (page: Page) => page.locator("#va-status").textContent();

describe("/voice-agent during a live call", () => {
  it("shows each agent state, the transcript as it grows, and reports them to Frappe", async () => {
    const { page, drive } = await start();
    expect(await drive((s) => s.joinedUrl)).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/calls\//);
    for (const [state, label] of [
      ["idle", "Connected"],
      ["listening", "Listening"],
      ["thinking", "Thinking…"],
      ["speaking", "Speaking"],
    ] as const) {
      await drive(new Function("s", `s.setStatus("${state}")`) as Drive);
      expect(await status(page)).toBe(label);
      expect(await page.locator("#va-indicator").getAttribute("data-state")).toBe(state);
    }
    await drive((s) => s.say(0, "agent", "Hello! How can I", false));
    expect(await page.locator("#va-line-0").getAttribute("class")).toContain("va-line-partial");
    await drive((s) => s.say(0, "agent", "Hello! How can I help?", true));
    await drive((s) => s.setStatus("listening"));
    await drive((s) => s.say(1, "user", "I'd like a table for two tonight.", true));
    expect(await page.locator("#va-transcript li").allTextContents()).toEqual([
      "AssistantHello! How can I help?",
      "YouI'd like a table for two tonight.",
    ]);
    expect(await page.locator("#va-transcript-empty").isHidden()).toBe(true);
    await screenshot(page, "desktop-live-transcript");

    await expect.poll(() => site.callsTo("process_transcript").at(-1)?.args.transcripts, { timeout: 6000 }).toEqual([
      { speaker: "agent", text: "Hello! How can I help?", ordinal: 0, isFinal: true, medium: "voice" },
      { speaker: "user", text: "I'd like a table for two tonight.", ordinal: 1, isFinal: true, medium: "voice" },
    ]);
    const statuses = site.callsTo("update_session_status").map((c) => c.args.status);
    expect(statuses.at(-1)).toBe("listening");
    expect(site.callsTo("update_session_status").every((c) => c.args.client_token === "client-token-1")).toBe(true);
  });

  it("says the conversation ended when the agent hangs up", async () => {
    const { page, drive } = await start(PHONE);
    await drive((s) => s.setStatus("speaking"));
    await drive((s) => s.say(0, "agent", "Your order is placed. Goodbye!", true));
    await screenshot(page, "phone-live");
    await drive((s) => s.setStatus("disconnected"));
    await page.locator('#va-alert[data-kind="call_ended"]').waitFor();
    expect(await status(page)).toBe("Conversation ended");
    expect(await page.locator("#va-alert").getAttribute("data-tone")).toBe("info");
    expect(await page.locator("#va-transcript li").count()).toBe(1);
    expect(await page.locator("#va-mute-mic").isDisabled()).toBe(true);
    await expect.poll(() => site.callsTo("process_transcript").length).toBe(1);
  });

  it("mute buttons drive the session and reset after the call", async () => {
    const { page, drive } = await start();
    await drive((s) => s.setStatus("listening"));
    await page.locator("#va-mute-mic").click();
    await page.locator("#va-mute-speaker").click();
    expect(await drive((s) => [s.isMicMuted, s.isSpeakerMuted])).toEqual([true, true]);
    await page.locator("#va-mute-mic").click();
    expect(await drive((s) => s.isMicMuted)).toBe(false);
    await page.locator("#va-end").click();
    await page.locator('#va-alert[data-kind="call_ended"]').waitFor();
    expect(await page.locator("#va-mute-speaker").getAttribute("aria-pressed")).toBe("false");
    expect(await page.locator("#va-mute-speaker").textContent()).toBe("Mute speaker");
  });
});
