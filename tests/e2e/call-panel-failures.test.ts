// Each failure the call panel can meet, in a real Chromium against the real
// sidecar: the message the user reads and the state left behind.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { counters, growth, openCallPanel, openParty, panelEnding, shot, waitStatus, type CallBrowser } from "./support/call-browser";
import { startFakeFrappe, startSidecar, type FakeFrappe, type RunningSidecar } from "./support/call-harness";

let sidecar: RunningSidecar;
let frappe: FakeFrappe;
let party: CallBrowser | undefined;

beforeAll(async () => {
  sidecar = await startSidecar();
  frappe = await startFakeFrappe(sidecar);
}, 30_000);

afterEach(async () => {
  await party?.close();
  party = undefined;
  for (const key of Object.keys(frappe.tweak) as (keyof FakeFrappe["tweak"])[]) delete frappe.tweak[key];
});

afterAll(async () => {
  await frappe?.stop();
  expect(await sidecar?.stop()).toBe(0);
}, 30_000);

async function callFromDesk({ micAllowed = true, refuseClipboard = false } = {}) {
  party = await openParty({ micAllowed });
  const page = party.page;
  if (refuseClipboard) {
    // What Chromium answers a page without clipboard permission (or focus).
    await page.addInitScript(() => {
      Object.defineProperty(navigator.clipboard, "writeText", {
        value: () => Promise.reject(new DOMException("Write permission denied.", "NotAllowedError")),
      });
    });
  }
  await openCallPanel(page, frappe.origin);
  return page;
}

async function alertText(page: import("playwright-core").Page) {
  await page.locator('.va-cp-alert[role="alert"]:not([hidden])').waitFor();
  return {
    title: await page.locator('[data-ref="alertTitle"]').textContent(),
    detail: await page.locator('[data-ref="alertDetail"]').textContent(),
  };
}

describe("call panel failures", () => {
  it("a network blip shows Reconnecting… and the call recovers with audio", async () => {
    const agentPage = await callFromDesk();
    await waitStatus(agentPage, "ringing");
    const call = (await agentPage.locator(".va-call-panel").getAttribute("data-call")) as string;
    const invite = await fetch(`${frappe.origin}/api/method/voice_agent.api.calls.create_invite`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ call }),
    }).then(async (r) => ((await r.json()) as { message: { url: string } }).message.url);
    const customer = await openParty();
    try {
      await customer.page.goto(invite);
      await customer.page.getByRole("button", { name: "Join call" }).click();
      await waitStatus(agentPage, "connected");
      // Freeze the media worker: no STUN answers, no RTP; signaling (the Node process) stays up.
      const health = await sidecar.api<{ workers: { pid: number }[] }>("GET", "/health");
      const pid = health.body.workers[0]!.pid;
      process.kill(pid, "SIGSTOP");
      try {
        await waitStatus(agentPage, "reconnecting", 20_000);
        expect(await agentPage.getByRole("status").textContent()).toBe("Reconnecting…");
        await shot(agentPage, "call-panel-reconnecting", "call-panel-reconnecting");
        // The sidecar may report reconnecting before the browser notices: keep the worker
        // frozen until the browser's own transport has gone down and asked for an ICE restart.
        await expect
          .poll(async () => (await counters(agentPage))?.iceRestartsRequested, { timeout: 30_000 })
          .toBeGreaterThanOrEqual(1);
      } finally {
        process.kill(pid, "SIGCONT");
      }
      await expect.poll(async () => (await counters(agentPage))?.iceRestarts, { timeout: 20_000 }).toBeGreaterThanOrEqual(1);
      await waitStatus(agentPage, "connected", 20_000);
      await expect
        .poll(async () => (await growth(agentPage, 1000)).packetsReceived, { timeout: 15_000 })
        .toBeGreaterThan(20);
      // The customer hangs up (the agent does in call-panel-call): neither side shows an error.
      await customer.page.getByRole("button", { name: "Hang up" }).click();
      await waitStatus(agentPage, "ended");
      expect(await panelEnding(customer.page)).toEqual({ title: "Call ended", detail: "You hung up.", isError: false });
      expect(await panelEnding(agentPage)).toEqual({ title: "Call ended", detail: "The customer hung up.", isError: false });
    } finally {
      await customer.close();
    }
  }, 90_000);

  it("a refused clipboard: the label claims no copy; after the hang-up the link and its email form are gone", async () => {
    const page = await callFromDesk({ refuseClipboard: true });
    await waitStatus(page, "ringing");
    await page.getByRole("button", { name: "Send invite" }).click();
    await expect.poll(() => page.locator('[data-ref="inviteUrl"]').inputValue()).toContain("/call?invite=");
    expect(await page.locator('[data-ref="inviteLabel"]').textContent()).toBe("Invite link");
    expect(await page.locator('[data-ref="inviteNote"]').textContent()).toBe("Copy the link above (the browser did not allow copying).");
    expect(await page.getByLabel("Invite link", { exact: true }).inputValue()).toContain("/call?invite=");
    expect(await page.getByRole("button", { name: "Send email" }).isVisible()).toBe(true);
    await shot(page, "call-panel-invite-not-copied");

    await page.getByRole("button", { name: "Hang up" }).click();
    await waitStatus(page, "ended");
    expect(await panelEnding(page)).toEqual({ title: "Call ended", detail: "You hung up.", isError: false });
    expect(await page.locator('[data-ref="invite"]').isHidden()).toBe(true);
    expect(await page.locator('[data-ref="emailForm"] button', { hasText: "Send email" }).isVisible()).toBe(false);
    expect(await page.getByText("Copy the link above").isVisible()).toBe(false);
  }, 30_000);

  it("sidecar unreachable", async () => {
    frappe.tweak.signalingUrl = "http://127.0.0.1:9";
    const page = await callFromDesk();
    await waitStatus(page, "ended", 20_000);
    const alert = await alertText(page);
    expect(alert.title).toBe("Call server unreachable");
    expect(alert.detail).toContain("Test connection");
    await expect.poll(() => page.getByRole("button", { name: "Close" }).isVisible()).toBe(true);
    await shot(page, "call-panel-error-unreachable");
  }, 40_000);

  it("token refused (signed with the wrong secret)", async () => {
    frappe.tweak.tokenSecret = "not-the-sidecar-secret-at-all-123";
    const page = await callFromDesk();
    await waitStatus(page, "ended");
    const alert = await alertText(page);
    expect(alert.title).toBe("Call refused");
    expect(alert.detail).toContain("bad_signature");
  }, 30_000);

  it("microphone denied", async () => {
    const page = await callFromDesk({ micAllowed: false });
    await waitStatus(page, "ended");
    const alert = await alertText(page);
    expect(alert.title).toBe("Microphone blocked");
    expect(alert.detail).toContain("Allow the microphone");
  }, 30_000);

  it("customer never joined: missed after the ring timeout", async () => {
    frappe.tweak.ringTimeoutSec = 5;
    const page = await callFromDesk();
    await waitStatus(page, "ringing");
    await waitStatus(page, "ended", 12_000);
    const alert = await alertText(page);
    expect(alert.title).toBe("Customer never joined");
    expect(await page.locator(".va-call-panel").getAttribute("data-end-kind")).toBe("missed");
    await shot(page, "call-panel-missed", "call-panel-missed");
    // Escape closes an ended panel (keyboard use).
    await page.getByRole("button", { name: "Close" }).press("Escape");
    await expect.poll(() => page.locator(".va-call-panel").count()).toBe(0);
  }, 30_000);

  it("a call with no room on the sidecar is refused", async () => {
    party = await openParty();
    const page = party.page;
    await openCallPanel(page, frappe.origin, { supervise_call: "VC-UNKNOWN", listen_only: true });
    await waitStatus(page, "ended");
    const alert = await alertText(page);
    expect(alert.title).toBe("Call refused");
    expect(alert.detail).toBe("This call is no longer running on the call server.");
  }, 30_000);

  it("Frappe's own refusal of initiate_call is shown with its message", async () => {
    frappe.tweak.initiateError = "The call server is not reachable: connection refused";
    const page = await callFromDesk();
    await waitStatus(page, "ended");
    const alert = await alertText(page);
    expect(alert).toEqual({ title: "Call failed", detail: "The call server is not reachable: connection refused" });
  }, 30_000);

  it("Frappe failing to record the agent's hang-up is shown, not swallowed", async () => {
    frappe.tweak.endCallError = "Voice Call VC-2026-00009 is locked by another request.";
    const page = await callFromDesk();
    await waitStatus(page, "ringing");
    await page.getByRole("button", { name: "Hang up" }).click();
    await waitStatus(page, "ended");
    await expect.poll(() => page.locator('[data-ref="alertDetail"]').textContent()).toBe(
      "Could not record the end of the call: Voice Call VC-2026-00009 is locked by another request.",
    );
  }, 30_000);
});
