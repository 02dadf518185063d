// The call server is stopped (SIGTERM, as pm2 does on a reload) during a call: both
// panels count down the drain, then say the server was shut down for maintenance.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openCallPanel, openParty, panelEnding, shot, waitStatus, type CallBrowser } from "./support/call-browser";
import { startFakeFrappe, startSidecar, type FakeFrappe, type RunningSidecar } from "./support/call-harness";

const GRACE_SEC = 8;
const WARNING = /^This call will end in (\d+) s: the call server is restarting for maintenance\.$/;

let sidecar: RunningSidecar;
let frappe: FakeFrappe;
const parties: CallBrowser[] = [];

beforeAll(async () => {
  sidecar = await startSidecar({ SIDECAR_DRAIN_GRACE_SEC: String(GRACE_SEC) });
  frappe = await startFakeFrappe(sidecar);
}, 30_000);

afterAll(async () => {
  for (const p of parties) await p.close();
  await frappe?.stop();
  await sidecar?.stop();
}, 30_000);

async function warningSeconds(page: import("playwright-core").Page): Promise<number> {
  const text = (await page.locator('[data-ref="warning"]').textContent()) ?? "";
  const match = WARNING.exec(text);
  if (!match) throw new Error(`not the shutdown warning: ${JSON.stringify(text)}`);
  return Number(match[1]);
}

describe("call panel: the call server shuts down during a call", () => {
  it("warns both sides with the seconds left, counts down, then says it was shut down for maintenance", async () => {
    const agent = await openParty();
    const customer = await openParty();
    parties.push(agent, customer);
    await openCallPanel(agent.page, frappe.origin);
    await waitStatus(agent.page, "ringing");
    const call = (await agent.page.locator(".va-call-panel").getAttribute("data-call")) as string;
    const invite = await fetch(`${frappe.origin}/api/method/voice_agent.api.calls.create_invite`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ call }),
    }).then(async (r) => ((await r.json()) as { message: { url: string } }).message.url);
    await customer.page.goto(invite);
    await customer.page.getByRole("button", { name: "Join call" }).click();
    await waitStatus(agent.page, "connected");
    await waitStatus(customer.page, "connected");
    expect(await agent.page.locator('[data-ref="warning"]').isHidden()).toBe(true);

    const stopped = sidecar.stop();
    for (const page of [agent.page, customer.page]) {
      await page.locator('[data-ref="warning"]:not([hidden])').waitFor({ timeout: 5000 });
      const seconds = await warningSeconds(page);
      expect(seconds).toBeLessThanOrEqual(GRACE_SEC);
      expect(seconds).toBeGreaterThanOrEqual(GRACE_SEC - 3);
      expect(await page.locator('[data-ref="warning"]').getAttribute("role")).toBe("alert");
    }
    // The call goes on meanwhile.
    expect(await agent.page.getByRole("status").textContent()).toBe("Connected");
    await shot(agent.page, "call-panel-shutdown-warning", "call-panel-shutdown-warning");
    const first = await warningSeconds(agent.page);
    await expect.poll(() => warningSeconds(agent.page), { timeout: 4000 }).toBeLessThan(first);

    await waitStatus(agent.page, "ended", (GRACE_SEC + 10) * 1000);
    await waitStatus(customer.page, "ended");
    expect(await panelEnding(agent.page)).toEqual({
      title: "Call ended",
      detail: "The call server was shut down for maintenance. You can call again once it is back.",
      isError: false,
    });
    expect(await panelEnding(customer.page)).toEqual({ title: "Call ended", detail: "The call server was shut down for maintenance.", isError: false });
    for (const page of [agent.page, customer.page]) expect(await page.locator('[data-ref="warning"]').isHidden()).toBe(true);
    await shot(agent.page, "call-panel-shutdown-ended");
    await shot(customer.page, "call-panel-customer-shutdown-ended");
    expect(await stopped).toBe(0);
  }, 90_000);
});
