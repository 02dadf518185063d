/// <reference types="node" />
// A connection attempt of the /voice-agent page that fails or is abandoned: the SDK's own promises
// (the warm-up play() of the assistant's audio, the LiveKit connection) must not end up as uncaught
// errors, and a real failure must be shown and logged, not swallowed.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { DESKTOP, launch } from "./portal-browser";
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
  await ultravox.setJoinMode("ok");
});

/** The page, what it let go uncaught (Playwright's pageerror: uncaught exceptions and rejections) and its console errors. */
async function open(): Promise<{ page: Page; uncaught: string[]; consoleErrors: string[] }> {
  context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  const uncaught: string[] = [];
  const consoleErrors: string[] = [];
  page.on("pageerror", (e) => uncaught.push(`${e.name}: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  await page.goto(`${site.origin}/voice-agent`);
  await page.locator(".va-card").first().waitFor();
  return { page, uncaught, consoleErrors };
}

describe("/voice-agent connection attempts that fail", () => {
  it("a media room that cannot be reached is reported at once, its cause logged, nothing uncaught", async () => {
    // The join socket stays open for 15 s: the page must not wait for it to learn the room is unreachable.
    await ultravox.setJoinMode("dead_room", 15);
    const { page, uncaught, consoleErrors } = await open();
    const started = Date.now();
    await page.locator("#va-start").click();
    await page.locator('#va-alert[data-kind="connection_lost"]').waitFor({ timeout: 10_000 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await page.locator("#va-status").textContent()).toBe("Not connected");
    expect(consoleErrors.some((t) => t.startsWith("voice-agent: the conversation could not connect"))).toBe(true);
    await expect.poll(() => site.callsTo("end_session").length).toBe(1);
    await page.waitForTimeout(500);
    expect(uncaught).toEqual([]);
  });

  it("End while the media is still connecting interrupts the audio's play(): no error, nothing uncaught", async () => {
    const { page, uncaught, consoleErrors } = await open();
    await page.locator("#va-start").click();
    await page.locator('#va-status:text-is("Connecting…")').waitFor();
    // The join socket has answered (room_info): the SDK has started play() and the LiveKit connection.
    await page.waitForTimeout(1000);
    await page.locator("#va-end").click();
    await page.locator('#va-alert[data-kind="call_ended"]').waitFor({ timeout: 10_000 });
    await page.waitForTimeout(500);
    expect(uncaught).toEqual([]);
    expect(consoleErrors.filter((t) => t.startsWith("voice-agent:"))).toEqual([]);
    expect(await page.locator("#va-status").textContent()).toBe("Conversation ended");
  });
});
