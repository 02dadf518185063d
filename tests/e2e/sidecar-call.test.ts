// Browser e2e of the sidecar's demo page: two Chromiums with fake microphones
// call each other through the real sidecar (programmatic, so the test can read
// the worker's dump), audio flows both ways, mute stops it, hang-up ends all.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSidecar, loadConfig, type Sidecar } from "../../mediasoup-sidecar/dist/index.js";
import { failedRequests, openParty, shot, type CallBrowser } from "./support/call-browser";
import { ROOT } from "./support/call-harness";

const SECRET = "e2e-sidecar-demo-secret-0123456789";

interface Inbound {
  packetsReceived: number;
  packetsLost: number;
}

function inbound(page: Page): Promise<Inbound | null> {
  return page.evaluate(() => (window as unknown as { sidecarDemo: { inbound: () => Promise<Inbound> | null } }).sidecarDemo.inbound());
}

/** The demo's error line: hidden when nothing went wrong. */
async function shownError(page: Page): Promise<string | null> {
  const box = page.locator("#error");
  return (await box.isVisible()) ? await box.textContent() : null;
}

/** A's tab starts a call, B's tab opens the invite link; resolves with the call id once both are connected. */
async function startCallBetween(a: Page, b: Page): Promise<string> {
  const link = a.locator("#invite-link");
  const previous = await link.inputValue();
  await a.getByRole("button", { name: "Start a call" }).click();
  await expect.poll(async () => { const value = await link.inputValue(); return value !== previous && value.includes("token="); }, { timeout: 10_000 }).toBe(true);
  const callId = (await a.locator("#call-id").textContent()) ?? "";
  expect(callId).toMatch(/^demo-/);
  await b.goto(await link.inputValue());
  for (const page of [a, b]) {
    await page.locator(`#call-id:text-is("${callId}")`).waitFor({ timeout: 10_000 });
    await page.locator('#state[data-state="connected"]').waitFor({ timeout: 15_000 });
    await expect.poll(() => page.locator("#participants li").count(), { timeout: 5_000 }).toBe(2);
  }
  return callId;
}

async function packetsOver(page: Page, ms: number): Promise<number> {
  const before = await inbound(page);
  await page.waitForTimeout(ms);
  const after = await inbound(page);
  if (!before || !after) throw new Error("no call on the page");
  return after.packetsReceived - before.packetsReceived;
}

describe("sidecar demo page: two browsers, one call", () => {
  let sidecar: Sidecar;
  let outbox: string;
  const parties: CallBrowser[] = [];

  beforeAll(async () => {
    outbox = mkdtempSync(join(tmpdir(), "va-sidecar-e2e-outbox-"));
    sidecar = await createSidecar(
      loadConfig({
        SIDECAR_HOST: "127.0.0.1",
        SIDECAR_PORT: "0",
        SIDECAR_RTC_PORT: "0",
        SIDECAR_NUM_WORKERS: "1",
        SIDECAR_SECRET: SECRET,
        SIDECAR_OUTBOX_PATH: outbox,
        SIDECAR_QUALITY_INTERVAL_SEC: "1",
        SIDECAR_LOG_LEVEL: "silent",
        SIDECAR_DEMO: "1",
        SIDECAR_DEMO_DIR: join(ROOT, "mediasoup-sidecar/demo/dist"),
        MEDIASOUP_WORKER_BIN: process.env.MEDIASOUP_WORKER_BIN,
      }),
    );
  });

  afterAll(async () => {
    for (const p of parties) await p.close();
    await sidecar?.close();
    rmSync(outbox, { recursive: true, force: true });
  });

  it("carries audio both ways, mute stops it, hang-up ends the room and leaves the worker clean", { timeout: 90_000 }, async () => {
    const a = await openParty();
    const b = await openParty();
    parties.push(a, b);
    const failed = [a, b].map(({ page }) => failedRequests(page));

    await a.page.goto(`${sidecar.url}/demo/`);
    await a.page.getByRole("button", { name: "Start a call" }).click();
    const link = a.page.locator("#invite-link");
    await expect.poll(() => link.inputValue(), { timeout: 10_000 }).toContain("token=");
    const callId = (await a.page.locator("#call-id").textContent()) ?? "";
    expect(callId).toMatch(/^demo-/);

    await b.page.goto(await link.inputValue());
    for (const { page } of [a, b]) {
      await page.locator('#state[data-state="connected"]').waitFor({ timeout: 15_000 });
      await expect.poll(() => page.locator("#participants li").count(), { timeout: 5_000 }).toBe(2);
    }
    expect((await sidecar.callStatus(callId)).state).toBe("connected");

    // Inbound RTP grows on both sides (a fake mic sends ~50 packets/s).
    await expect.poll(async () => (await inbound(a.page))?.packetsReceived ?? 0, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await packetsOver(a.page, 2000)).toBeGreaterThan(40);
    expect(await packetsOver(b.page, 2000)).toBeGreaterThan(40);

    // The SFU's quality sample reaches the page; screenshot mid-call.
    await expect.poll(() => a.page.locator("#sfu-quality").textContent(), { timeout: 5_000 }).toContain("loss");
    await expect.poll(() => a.page.locator("#in-packets").textContent(), { timeout: 3_000 }).not.toBe("0");
    await shot(a.page, "sidecar-demo-mid-call", "sidecar-demo");

    // Mute on A: B's inbound stops growing (after a short settle), A's keeps growing.
    await a.page.getByRole("button", { name: "Mute" }).click();
    await a.page.getByRole("button", { name: "Unmute" }).waitFor();
    await expect.poll(() => b.page.locator("#participants li", { hasText: "muted" }).count(), { timeout: 5_000 }).toBe(1);
    await b.page.waitForTimeout(500);
    expect(await packetsOver(b.page, 2000)).toBeLessThanOrEqual(2);
    expect(await packetsOver(a.page, 1000)).toBeGreaterThan(20);

    await a.page.getByRole("button", { name: "Unmute" }).click();
    await a.page.getByRole("button", { name: "Mute" }).waitFor();
    await b.page.waitForTimeout(500);
    expect(await packetsOver(b.page, 2000)).toBeGreaterThan(40);

    // Hang-up from B (keyboard): both pages show the end, the room is gone.
    await b.page.locator("#hangup").focus();
    await b.page.keyboard.press("Enter");
    for (const { page } of [a, b]) await page.locator('#state[data-state="ended"]').waitFor({ timeout: 10_000 });
    expect(await b.page.locator("#state").textContent()).toBe("ended (hangup)");
    // Neither side shows an error after a hang-up (the hang-up's own answer arrives before the end).
    await b.page.waitForTimeout(500);
    expect(await shownError(a.page)).toBeNull();
    expect(await shownError(b.page)).toBeNull();
    expect(failed.flat()).toEqual([]);
    const status = await sidecar.callStatus(callId);
    expect(status.state).toBe("ended");
    expect(status.endReason).toBe("hangup");

    // Router close reaches the worker as a notification: give it a moment.
    const worker = sidecar.pool.slots[0]!.worker;
    await expect.poll(async () => (await worker.dump()).routerIds, { timeout: 3_000 }).toEqual([]);
  });

  it("a finished call lets either tab start another without reloading; no error after either side hangs up, no failed request", { timeout: 90_000 }, async () => {
    const a = await openParty();
    const b = await openParty();
    parties.push(a, b);
    const failed = [a, b].map(({ page }) => failedRequests(page));
    await a.page.goto(`${sidecar.url}/demo/`);
    // Headless Chromium asks for no favicon by itself: check that the page names one and that it is served.
    const icon = await a.page.locator('link[rel="icon"]').getAttribute("href");
    expect(icon, "the page declares its icon").toBeTruthy();
    expect((await a.page.request.get(new URL(icon ?? "", a.page.url()).href)).status()).toBe(200);

    // First call: A hangs up.
    const first = await startCallBetween(a.page, b.page);
    // Marks the documents: a reload would lose them.
    for (const { page } of [a, b]) await page.evaluate(() => ((window as unknown as { loadedOnce: boolean }).loadedOnce = true));
    await a.page.getByRole("button", { name: "Hang up" }).click();
    for (const { page } of [a, b]) await page.locator('#state[data-state="ended"]').waitFor({ timeout: 10_000 });
    expect(await a.page.locator("#state").textContent()).toBe("ended (hangup)");
    // The ended call lists nobody and offers no dead link.
    for (const { page } of [a, b]) {
      expect(await page.locator("#participants li").count()).toBe(0);
      expect(await page.locator("#invite").isHidden()).toBe(true);
      expect(await page.getByRole("button", { name: "Hang up" }).isVisible()).toBe(false);
    }
    await a.page.waitForTimeout(500);
    expect(await shownError(a.page)).toBeNull();
    expect(await shownError(b.page)).toBeNull();
    expect((await sidecar.callStatus(first)).endReason).toBe("hangup");

    // Second call from the same tabs: A starts it again, B opens the new link (same document, new fragment).
    const second = await startCallBetween(a.page, b.page);
    expect(second).not.toBe(first);
    for (const { page } of [a, b]) expect(await page.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
    expect(await a.page.locator("#participants li").allTextContents()).toHaveLength(2);
    await expect.poll(async () => (await inbound(a.page))?.packetsReceived ?? 0, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(await packetsOver(b.page, 1500)).toBeGreaterThan(30);
    await shot(a.page, "sidecar-demo-second-call");

    // B hangs up this time.
    await b.page.getByRole("button", { name: "Hang up" }).click();
    for (const { page } of [a, b]) await page.locator('#state[data-state="ended"]').waitFor({ timeout: 10_000 });
    await b.page.waitForTimeout(500);
    expect(await shownError(a.page)).toBeNull();
    expect(await shownError(b.page)).toBeNull();
    expect((await sidecar.callStatus(second)).endReason).toBe("hangup");
    // The start button is back for a third call.
    expect(await a.page.getByRole("button", { name: "Start a call" }).isEnabled()).toBe(true);
    await shot(a.page, "sidecar-demo-after-second-call");
    expect(failed.flat()).toEqual([]);
  });
});
