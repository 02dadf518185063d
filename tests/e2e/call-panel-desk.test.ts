// The call from a real Lead form on a real Frappe + ERPNext site with its
// sidecar running (not in CI: no registry carries Frappe). Run with
//   VA_DESK_URL=http://127.0.0.1:8000 VA_SITE_USER=Administrator VA_SITE_PASSWORD=admin \
//     npx vitest run tests/e2e/call-panel-desk
// Frappe's realtime needs the site's own host name in the browser (VA_DESK_URL=http://va.localhost:8000,
// VA_DESK_API_URL=http://127.0.0.1:8000; where the web server serves no default site, as gunicorn does,
// use the site's name there too). It removes the Lead it made, with its Voice Calls and their events and
// invites, at the end (VA_DESK_KEEP=1 keeps them, to look at).
import { afterAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { counters, openParty, panelEnding, shot, waitStatus, type CallBrowser } from "./support/call-browser";
import { siteLogin } from "./support/site";

const SITE = process.env.VA_DESK_URL ?? "";
// Node's fetch may not resolve the site's host name the way the browser does (*.localhost): let it use another URL.
const API = process.env.VA_DESK_API_URL ?? SITE;
// VA_DESK_REALTIME=1: the Voice Call form must update without a reload (needs Frappe's socket.io reachable from the page).
const REALTIME = process.env.VA_DESK_REALTIME === "1";
const KEEP = process.env.VA_DESK_KEEP === "1";
const parties: CallBrowser[] = [];
let leadMade = "";

async function showsState(page: Page, state: RegExp): Promise<void> {
  if (!REALTIME) await page.reload();
  await page.locator(".indicator-pill").filter({ hasText: state }).first().waitFor({ timeout: 20_000 });
}

afterAll(async () => {
  for (const p of parties) await p.close();
  if (KEEP || !leadMade) return;
  // A session of its own: the browsers' desk gave theirs a CSRF token that every write would then need.
  const sid = await siteLogin(API);
  // Events and invites link to the call: removed before it.
  const left: string[] = [];
  const remove = async (doctype: string, name: string) => {
    const res = await fetch(`${API}/api/resource/${encodeURIComponent(doctype)}/${encodeURIComponent(name)}`, {
      method: "DELETE",
      headers: { Cookie: `sid=${sid}`, Accept: "application/json" },
    });
    if (!res.ok) left.push(`${doctype} ${name}: ${res.status} ${(await res.text()).slice(0, 300)}`);
  };
  const names = async (doctype: string, filters: unknown[]) =>
    (await api<{ name: string }[]>(sid, `/api/resource/${encodeURIComponent(doctype)}?filters=${encodeURIComponent(JSON.stringify(filters))}&limit_page_length=0`)).map((r) => r.name);
  // Every call of the Lead, also one that failed before the test saw it.
  for (const call of await names("Voice Call", [["reference_doctype", "=", "Lead"], ["reference_name", "=", leadMade]])) {
    for (const doctype of ["Voice Call Event", "Voice Call Invite"]) {
      for (const name of await names(doctype, [["voice_call", "=", call]])) await remove(doctype, name);
    }
    await remove("Voice Call", call);
  }
  await remove("Lead", leadMade);
  expect(left, "what the check made is removed").toEqual([]);
}, 60_000);

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

/** What /call must show: the default Company and its logo when that is a public file (voice_agent/site_brand.py). */
async function expectedBrand(sid: string): Promise<{ name: string; logo: string | null }> {
  const { default_company: company } = await api<{ default_company?: string }>(sid, "/api/resource/Global Defaults/Global Defaults");
  if (!company) throw new Error("the site has no default Company: the /call brand check needs one");
  const { company_logo: logo } = await api<{ company_logo?: string | null }>(sid, `/api/resource/Company/${encodeURIComponent(company)}`);
  return { name: company, logo: logo?.startsWith("/files/") ? logo : null };
}

/** A field's value as the read-only form shows it. */
function shownValue(page: Page, fieldname: string): Promise<string> {
  return page.locator(`.frappe-control[data-fieldname="${fieldname}"] .control-value`).first().innerText();
}

describe.runIf(SITE)("desk call from a Lead on a real site", () => {
  it("Call on a Lead, the customer joins from the invite link, the Voice Call and the timeline follow the call", async () => {
    const sid = await siteLogin(API);
    const lead = await api<{ name: string }>(sid, "/api/resource/Lead", {
      first_name: "Jane",
      last_name: `Desk ${new Date().toISOString().slice(11, 19)}`,
      email_id: `jane.desk.${Date.now()}@example.com`,
    });
    leadMade = lead.name;
    const agent = await openParty();
    const customer = await openParty();
    const viewer = await openParty();
    parties.push(agent, customer, viewer);
    // The Voice Call as on a desktop: below Frappe's 1200 px breakpoint its grids' date-times are cut.
    await viewer.page.setViewportSize({ width: 1280, height: 800 });
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
    // The customer's page speaks for the company, as /voice-agent does, not for the framework.
    const brand = await expectedBrand(sid);
    const header = customer.page.locator("header.va-header .va-brand");
    expect(await header.locator(".va-brand-name").textContent()).toBe(brand.name);
    const logo = header.locator("img.va-brand-logo");
    expect((await logo.count()) ? await logo.getAttribute("src") : null).toBe(brand.logo);
    expect(await customer.page.title()).toBe(`Join the call – ${brand.name}`);
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
    await waitStatus(agent.page, "ended", 15_000);
    await waitStatus(customer.page, "ended", 15_000);
    // Each side reads the end from its own side.
    expect(await panelEnding(agent.page)).toEqual({ title: "Call ended", detail: "You hung up.", isError: false });
    expect(await panelEnding(customer.page)).toEqual({ title: "Call ended", detail: "The other side hung up.", isError: false });
    // The invite link ended with the call: no email form, no copy note.
    expect(await agent.page.locator('[data-ref="invite"]').isHidden()).toBe(true);
    expect(await agent.page.locator('[data-ref="inviteNote"]').isVisible()).toBe(false);
    await shot(agent.page, "desk-call-agent-hung-up");
    await shot(customer.page, "desk-call-customer-ended");
    await expect
      .poll(async () => (await api<{ state: string }>(sid, `/api/resource/Voice Call/${encodeURIComponent(call as string)}`)).state, { timeout: 20_000 })
      .toBe("ended");
    await showsState(viewer.page, /ended/i);
    // An ended call opens read-only: nothing to save; durations as m:ss, as on the timeline.
    await expect.poll(() => viewer.page.locator(".page-actions .primary-action:visible").count(), { timeout: 10_000 }).toBe(0);
    const talk = await shownValue(viewer.page, "talk_duration");
    expect(talk).toMatch(/^\d+:\d{2}$/);
    for (const fieldname of ["ring_duration", "total_duration"]) expect(await shownValue(viewer.page, fieldname)).toMatch(/^\d+:\d{2}$/);
    await viewer.page.waitForTimeout(1500);
    await shot(viewer.page, "desk-call-voice-call-ended", "desk-call-voice-call-ended");
    // The state history reads in full ("connecting", not "connecti…").
    const history = viewer.page.locator('.frappe-control[data-fieldname="state_history"]');
    await history.scrollIntoViewIfNeeded();
    await shot(viewer.page, "desk-call-voice-call-ended-history");
    const cells = history.locator(".grid-body .grid-static-col .static-area");
    expect(await cells.count()).toBeGreaterThan(0);
    const clipped = await cells.evaluateAll((els) => els.filter((el) => el.scrollWidth > el.clientWidth).map((el) => el.textContent?.trim()));
    expect(clipped).toEqual([]);
    await agent.page.goto(`${SITE}/app/lead/${encodeURIComponent(lead.name)}`);
    await agent.page.waitForTimeout(3000);
    await agent.page.getByRole("tab", { name: "Activities" }).click();
    const card = agent.page.locator(".timeline-item").filter({ hasText: call as string }).first();
    await card.scrollIntoViewIfNeeded({ timeout: 10_000 });
    // One rounding rule: the timeline's talk time is the form's.
    expect(await card.innerText()).toContain(`talk ${talk}`);
    await shot(agent.page, "desk-call-lead-timeline", "desk-call-lead-timeline");
  }, 180_000);
});
