// The call from a real Lead form on a real Frappe + ERPNext site with its
// sidecar running (not in CI: no registry carries Frappe). Run with
//   VA_DESK_URL=http://127.0.0.1:8000 VA_SITE_USER=Administrator VA_SITE_PASSWORD=admin \
//     npx vitest run tests/e2e/call-panel-desk
// Frappe's realtime needs the site's own host name in the browser (VA_DESK_URL=http://va.localhost:8000,
// VA_DESK_API_URL=http://127.0.0.1:8000).
import { afterAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { counters, openParty, shot, waitStatus, type CallBrowser } from "./support/call-browser";
import { siteLogin } from "./support/site";

const SITE = process.env.VA_DESK_URL ?? "";
// Node's fetch may not resolve the site's host name the way the browser does (*.localhost): let it use another URL.
const API = process.env.VA_DESK_API_URL ?? SITE;
// VA_DESK_REALTIME=1: the Voice Call form must update without a reload (needs Frappe's socket.io reachable from the page).
const REALTIME = process.env.VA_DESK_REALTIME === "1";
const parties: CallBrowser[] = [];

async function showsState(page: Page, state: RegExp): Promise<void> {
  if (!REALTIME) await page.reload();
  await page.locator(".indicator-pill").filter({ hasText: state }).first().waitFor({ timeout: 20_000 });
}

afterAll(async () => {
  for (const p of parties) await p.close();
});

async function api<T>(sid: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${API}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { Cookie: `sid=${sid}`, "Content-Type": "application/json", Accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  const json = (await res.json()) as { data?: T; message?: T };
  return (json.data ?? json.message) as T;
}

describe.runIf(SITE)("desk call from a Lead on a real site", () => {
  it("Call on a Lead, the customer joins from the invite link, the Voice Call and the timeline follow the call", async () => {
    const sid = await siteLogin(API);
    const lead = await api<{ name: string }>(sid, "/api/resource/Lead", {
      first_name: "Jane",
      last_name: `Desk ${new Date().toISOString().slice(11, 19)}`,
      email_id: `jane.desk.${Date.now()}@example.com`,
    });
    const agent = await openParty();
    const customer = await openParty();
    const viewer = await openParty();
    parties.push(agent, customer, viewer);
    for (const p of [agent, viewer]) {
      await p.page.context().addCookies([{ name: "sid", value: sid, url: SITE }]);
    }
    await agent.page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: SITE });

    await agent.page.goto(`${SITE}/app/lead/${encodeURIComponent(lead.name)}`);
    await agent.page.getByRole("button", { name: "Call", exact: true }).first().click({ timeout: 30_000 });
    await waitStatus(agent.page, "ringing", 20_000);
    const call = await agent.page.locator(".va-call-panel").getAttribute("data-call");
    expect(call).toBeTruthy();

    // A second desk user watches the Voice Call: it must fill in without a reload (realtime).
    await viewer.page.goto(`${SITE}/app/voice-call/${encodeURIComponent(call as string)}`);
    await viewer.page.locator(".indicator-pill").filter({ hasText: /ringing|created/i }).first().waitFor({ timeout: 20_000 });

    await agent.page.getByRole("button", { name: "Send invite" }).click();
    const inviteInput = agent.page.locator('[data-ref="inviteUrl"]');
    await expect.poll(() => inviteInput.inputValue(), { timeout: 10_000 }).toContain("/call?invite=");
    const inviteUrl = await inviteInput.inputValue();

    await customer.page.goto(inviteUrl);
    await customer.page.getByLabel("Your name (optional)").fill("Jane Desk");
    await customer.page.getByRole("button", { name: "Join call" }).click();
    await waitStatus(customer.page, "connected", 20_000);
    await waitStatus(agent.page, "connected", 20_000);
    await expect.poll(async () => (await counters(agent.page))?.packetsReceived ?? 0, { timeout: 15_000 }).toBeGreaterThan(50);
    await expect.poll(async () => (await counters(customer.page))?.packetsReceived ?? 0, { timeout: 15_000 }).toBeGreaterThan(50);

    await showsState(viewer.page, /connected/i);
    await viewer.page.waitForTimeout(3000);
    await shot(agent.page, "desk-call-lead-connected", "desk-call-lead-connected");
    await shot(customer.page, "desk-call-customer", "desk-call-customer");
    await shot(viewer.page, "desk-call-voice-call-live", "desk-call-voice-call-live");
    const live = await api<{ state: string }>(sid, `/api/resource/Voice Call/${encodeURIComponent(call as string)}`);
    expect(live.state).toBe("connected");

    await agent.page.getByRole("button", { name: "Hang up" }).click();
    await waitStatus(customer.page, "ended", 15_000);
    await expect
      .poll(async () => (await api<{ state: string }>(sid, `/api/resource/Voice Call/${encodeURIComponent(call as string)}`)).state, { timeout: 20_000 })
      .toBe("ended");
    await showsState(viewer.page, /ended/i);
    await viewer.page.waitForTimeout(1500);
    await shot(viewer.page, "desk-call-voice-call-ended", "desk-call-voice-call-ended");
    await agent.page.goto(`${SITE}/app/lead/${encodeURIComponent(lead.name)}`);
    await agent.page.waitForTimeout(3000);
    await agent.page.getByRole("tab", { name: "Activities" }).click();
    const card = agent.page.locator(".timeline-item").filter({ hasText: call as string }).first();
    await card.scrollIntoViewIfNeeded({ timeout: 10_000 });
    await shot(agent.page, "desk-call-lead-timeline", "desk-call-lead-timeline");
  }, 180_000);
});
