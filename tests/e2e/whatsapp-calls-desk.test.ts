// WhatsApp calls in the desk, in Chromium: the incoming-call popup of every desk page (the real
// whatsapp_calls.js, as app_include_js loads it) for two users in their own browser contexts, and the
// call panel's WhatsApp mode from a Lead's Call button (the real call_button.js and call_panel.js).
// The fake Frappe of the WhatsApp desk tests answers voice_agent.api.whatsapp_calls.* and pushes the
// calls' realtime events, every one checked against contracts/frappe-api.schema.json; join answers
// open rooms on the real sidecar, where the customer's WhatsApp is a Meta-like peer (ICE-lite, Opus 111,
// DTLS-SRTP; mediasoup-sidecar/test/support/meta-peer.ts) on the sidecar's WhatsApp leg.
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { growth } from "./support/call-browser";
import { mintToken, startSidecar, type RunningSidecar } from "./support/call-harness";
import { CHROMIUM_PATH, chromiumArgs } from "./support/chromium";
import { COLLEAGUE, USER, USER_COOKIE, startFakeFrappe, type FakeFrappe, type PartyRecord } from "./support/whatsapp-frappe";
import { startFakeGraph, type FakeGraph } from "./support/whatsapp-graph";
import { screenshot } from "./support/whatsapp-media";
import { MetaPeer } from "../../mediasoup-sidecar/test/support/meta-peer";
import { startAppPython, type AppPython } from "./support/whatsapp-python";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PARTIES: PartyRecord[] = [
  { doctype: "Lead", name: "CRM-LEAD-2026-00001", title: "Ann Example", phone: "+1 650 555 0123" },
  { doctype: "Lead", name: "CRM-LEAD-2026-00002", title: "Bob Builder", phone: "+1 650 555 0145" },
];
const FULL_NAME: Record<string, string> = { [USER]: "Alex Agent", [COLLEAGUE]: "Casey Colleague" };

let python: AppPython;
let graph: FakeGraph;
let sidecar: RunningSidecar;
let site: FakeFrappe;
let browser: Browser;
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];
const failedRequests: string[] = [];
const conv: Record<string, string> = {};
const peers: MetaPeer[] = [];

const poll = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 15_000, interval: 100 });
const shot = (page: Page, name: string) => screenshot(ROOT, page, name).then((path) => path);

/** A desk user's own browser context (their session), and a page of it. */
async function deskUser(user: string, theme: "light" | "dark" = "light"): Promise<{ context: BrowserContext; open(path: string): Promise<Page> }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-GB", timezoneId: "UTC", colorScheme: theme });
  context.setDefaultTimeout(15_000);
  await context.addCookies([{ name: USER_COOKIE, value: encodeURIComponent(user), url: site.origin }]);
  contexts.push(context);
  return {
    context,
    async open(path: string) {
      const page = await context.newPage();
      const label = `${user} ${path}`;
      page.on("pageerror", (e) => pageErrors.push(`${label}: ${e.message}`));
      page.on("console", (m) => m.type() === "error" && pageErrors.push(`${label} console: ${m.text()}`));
      page.on("response", (r) => {
        // Refusals the test provokes are checked in the fake's own record.
        const provoked = [409, 417].includes(r.status()) && r.url().includes("/api/method/voice_agent.api.whatsapp_calls.");
        if (r.status() >= 400 && !provoked) failedRequests.push(`${label}: ${r.request().method()} ${r.url()} -> ${r.status()}`);
      });
      page.on("requestfailed", (r) => {
        if (!r.url().includes("/harness/realtime")) failedRequests.push(`${label}: ${r.url()} ${r.failure()?.errorText}`);
      });
      const sep = path.includes("?") ? "&" : "?";
      await page.goto(`${site.origin}${path}${theme === "dark" ? `${sep}theme=dark` : ""}`);
      await page.waitForFunction(() => (window as unknown as { __realtimeReady?: Promise<boolean> }).__realtimeReady);
      await page.evaluate(() => (window as unknown as { __realtimeReady: Promise<boolean> }).__realtimeReady);
      return page;
    },
  };
}

const popup = (page: Page, call: string) => page.locator(`.va-inc[data-call="${call}"]`);

beforeAll(async () => {
  python = await startAppPython(ROOT);
  graph = await startFakeGraph(ROOT);
  sidecar = await startSidecar();
  site = await startFakeFrappe({
    root: ROOT,
    python,
    graph,
    parties: PARTIES,
    calling: {
      // As service.join_answer after the room exists (the leg's room for an incoming call, start_call's for ours).
      async joinAnswer(call, user) {
        const room = await sidecar.api("POST", "/api/rooms", { callId: call });
        if (room.status !== 201 && room.status !== 200) throw new Error(`sidecar room ${call}: HTTP ${room.status}`);
        return {
          call,
          signaling_url: sidecar.url,
          token: await mintToken({ callId: call, participantId: user, role: "agent", name: FULL_NAME[user] ?? user }),
          expires_at: new Date(Date.now() + 600_000).toISOString(),
          ice_servers: [],
          role: "agent",
          participant_id: user,
        };
      },
      async endRoom(call, reason) {
        const ended = await sidecar.api("POST", `/api/rooms/${call}/end`, { reason });
        if (ended.status !== 200) throw new Error(`sidecar end ${call}: HTTP ${ended.status}`);
      },
    },
  });
  await graph.setWebhook(`${site.origin}/api/method/voice_agent.api.whatsapp.whatsapp_webhook`);
  conv.ann = await site.seedConversation({
    party: { doctype: "Lead", name: "CRM-LEAD-2026-00001" },
    wa_id: "16505550123",
    profile_name: "Ann Example",
    history: [
      { direction: "inbound", text: "Hello! I ordered a blue kettle last week.", minutesAgo: 30 },
      { direction: "outbound", text: "Thanks Ann, let me check that for you.", minutesAgo: 28 },
      { direction: "inbound", text: "Could you call me about it?", minutesAgo: 2 },
    ],
  });
  conv.bob = await site.seedConversation({
    party: { doctype: "Lead", name: "CRM-LEAD-2026-00002" },
    wa_id: "16505550145",
    profile_name: "Bob",
    history: [{ direction: "inbound", text: "Do you deliver on Sundays?", minutesAgo: 5 }],
  });
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: chromiumArgs() });
}, 90_000);

afterAll(async () => {
  for (const c of contexts) await c.close();
  for (const p of peers) await p.close();
  await browser?.close();
  await site?.stop();
  await sidecar?.stop();
  await graph?.stop();
  await python?.stop();
}, 30_000);

describe("WhatsApp calls in the desk", () => {
  let agent: Page;
  let colleague: Page;

  it("a customer's call rings both users' desks within a second; the first to accept gets the panel, the other sees who took it", async () => {
    // Any desk page: a form for one, the inbox for the other.
    agent = await (await deskUser(USER)).open("/app/lead/CRM-LEAD-2026-00002");
    colleague = await (await deskUser(COLLEAGUE, "dark")).open("/app/whatsapp-inbox");

    const rungAt = Date.now();
    const call = site.whatsappCalls.ring(conv.ann as string);
    await Promise.all([popup(agent, call).waitFor({ timeout: 1000 }), popup(colleague, call).waitFor({ timeout: 1000 })]);
    const shownInMs = Date.now() - rungAt;
    expect(shownInMs).toBeLessThan(1000);

    const agentPopup = popup(agent, call);
    expect(await agentPopup.getAttribute("role")).toBe("alertdialog");
    expect(await agentPopup.getAttribute("data-state")).toBe("ringing");
    expect(await agentPopup.locator(".va-inc-title").textContent()).toBe("Ann Example");
    expect(await agentPopup.locator(".va-inc-sub").textContent()).toBe("+16505550123");
    const partyLink = agentPopup.getByRole("link", { name: "Ann Example" });
    expect(await partyLink.getAttribute("href")).toBe("/app/lead/CRM-LEAD-2026-00001");
    expect(await agentPopup.locator('[data-ref="account"]').textContent()).toBe("To Sales +1 555-078-3881");
    expect(await agentPopup.locator(".va-inc-msgs li .va-inc-text").allTextContents()).toEqual([
      "Hello! I ordered a blue kettle last week.",
      "Thanks Ann, let me check that for you.",
      "Could you call me about it?",
    ]);
    const left = Number((await agentPopup.locator(".va-inc-countdown").textContent())?.split(":")[1]);
    expect(left).toBeGreaterThan(20);
    expect(left).toBeLessThanOrEqual(30);
    // Keyboard: on an idle page the alertdialog takes the focus, on Accept; Enter takes the call.
    expect(await agent.evaluate(() => document.activeElement?.textContent)).toBe("Accept");
    await agent.waitForTimeout(300);
    await shot(agent, "whatsapp-call-popup-light");
    await shot(colleague, "whatsapp-call-popup-dark");

    await agent.keyboard.press("Enter");
    const panel = agent.locator(".va-call-panel");
    await panel.waitFor();
    expect(await panel.locator(".va-cp-title").textContent()).toBe("WhatsApp: Ann Example");
    await poll(() => panel.getAttribute("data-call")).toBe(call);
    await poll(() => panel.getAttribute("data-status")).toMatch(/^(ringing|connected)$/);
    expect(await agentPopup.count()).toBe(0);
    expect(site.whatsappCalls.state(call)).toMatchObject({ state: "connecting", agent: USER });

    const other = popup(colleague, call);
    await poll(() => other.getAttribute("data-state")).toBe("answered");
    expect(await other.locator(".va-inc-outcome").textContent()).toBe("Answered Answered by Alex Agent");
    expect(await other.getByRole("button", { name: "Accept" }).isHidden()).toBe(true);
    await shot(colleague, "whatsapp-call-popup-answered-dark");
    await other.waitFor({ state: "detached", timeout: 8000 });
    await agent.waitForTimeout(500);
    await shot(agent, "whatsapp-call-accepted-panel");

    // The customer hangs up: Meta's terminate ends the room; the agent is free for the next call.
    site.whatsappCalls.end(call, "ended", "remote_hangup");
    await sidecar.api("POST", `/api/rooms/${call}/end`, { reason: "remote_hangup" });
    await poll(() => panel.getAttribute("data-status")).toBe("ended");
  });

  it("a declined call leaves the colleague's popup ringing; missed, it closes with the reason", async () => {
    const call = site.whatsappCalls.ring(conv.bob as string);
    await Promise.all([popup(agent, call).waitFor(), popup(colleague, call).waitFor()]);
    // Two calls stack for the colleague is the next test; here the agent declines.
    await popup(agent, call).getByRole("button", { name: "Decline" }).click();
    await popup(agent, call).waitFor({ state: "detached" });
    await poll(() => site.whatsappCalls.state(call)?.declined).toEqual([USER]);
    expect(await popup(colleague, call).getAttribute("data-state")).toBe("ringing");

    site.whatsappCalls.end(call, "missed", "no_answer");
    await poll(() => popup(colleague, call).getAttribute("data-state")).toBe("ended");
    expect(await popup(colleague, call).locator(".va-inc-outcome").textContent()).toBe("Missed call Nobody answered in time.");
    await shot(colleague, "whatsapp-call-popup-missed-dark");
    await popup(colleague, call).waitFor({ state: "detached", timeout: 8000 });
  });

  it("calls stack; a tab opened while they ring shows them; the customer hanging up closes one", async () => {
    const first = site.whatsappCalls.ring(conv.ann as string);
    const second = site.whatsappCalls.ring(conv.bob as string);
    await popup(colleague, first).waitFor();
    await popup(colleague, second).waitFor();
    expect(await colleague.locator(".va-inc").evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.call))).toEqual([first, second]);
    const late = await (await deskUser(COLLEAGUE)).open("/app/whatsapp-inbox");
    await popup(late, first).waitFor({ timeout: 5000 });
    await popup(late, second).waitFor({ timeout: 5000 });
    await shot(late, "whatsapp-call-popups-stacked");
    expect(site.calls.filter((c) => c.method === "whatsapp_calls.get_incoming_whatsapp_calls").length).toBeGreaterThanOrEqual(3);

    site.whatsappCalls.end(first, "missed", "remote_hangup");
    for (const page of [colleague, late]) {
      await poll(() => popup(page, first).locator(".va-inc-outcome").textContent()).toBe("Missed call The customer hung up.");
      expect(await popup(page, second).getAttribute("data-state")).toBe("ringing");
    }
    // The colleague takes the second call in one tab: their other tab stops ringing, and the agent's tab
    // (which declined nothing) shows who took it.
    await popup(colleague, second).getByRole("button", { name: "Accept" }).click();
    await colleague.locator(".va-call-panel").waitFor();
    await popup(late, second).waitFor({ state: "detached" });
    await poll(() => popup(agent, second).getAttribute("data-state")).toBe("answered");
    expect(await popup(agent, second).locator(".va-inc-outcome").textContent()).toBe("Answered Answered by Casey Colleague");
    await late.close();
  });

  it("an accepted call carries audio both ways between the desk and the customer's WhatsApp, and either side hangs up", async () => {
    const page = await (await deskUser(USER)).open("/app/lead/CRM-LEAD-2026-00002");
    const call = site.whatsappCalls.ring(conv.ann as string);
    // As the connect webhook does: the room, and the WhatsApp leg answering the customer's offer.
    const peer = await MetaPeer.create();
    peers.push(peer);
    expect((await sidecar.api("POST", "/api/rooms", { callId: call })).status).toBe(201);
    const leg = await sidecar.api<{ sdp: string }>("POST", `/api/rooms/${call}/whatsapp/answer`,
      { participantId: "whatsapp:16505550123", waCallId: "wacid.e2e-media", offer: peer.offer() });
    expect(leg.status).toBe(201);
    await peer.acceptAnswer(leg.body.sdp);
    peer.startSending();

    await popup(page, call).getByRole("button", { name: "Accept" }).click();
    const panel = page.locator(".va-call-panel");
    await poll(() => panel.getAttribute("data-status")).toBe("connected");
    const heard = () => peer.received.filter((r) => r.payloadSize > 3).length;  // the agent's voice, not silence
    const before = heard();
    const grown = await growth(page, 3000);
    expect(grown.packetsReceived, "the customer's audio at the desk").toBeGreaterThan(100);
    expect(grown.packetsSent, "the desk's audio sent").toBeGreaterThan(100);
    expect(heard() - before, "the desk's audio at the customer's WhatsApp").toBeGreaterThan(100);
    await shot(page, "whatsapp-call-media-panel");

    // The desk hangs up: the room ends, and the WhatsApp leg with it (nothing more toward the customer).
    await panel.getByRole("button", { name: "Hang up" }).click();
    await poll(() => panel.getAttribute("data-status")).toBe("ended");
    expect(site.calls.find((c) => c.method === "calls.end_call")?.args).toEqual({ call, reason: "hangup" });
    expect(site.whatsappCalls.state(call)?.state).toBe("ended");
    await page.waitForTimeout(300);
    const stopped = peer.received.length;
    await page.waitForTimeout(1000);
    expect(peer.received.length - stopped, "packets toward the customer after the hang-up").toBe(0);
  });

  it("the WhatsApp mode of the panel: no permission → Ask permission → granted (event) → Call on WhatsApp", async () => {
    const user = await deskUser(USER);
    const lead = await user.open("/app/lead/CRM-LEAD-2026-00001");
    await lead.waitForFunction(() => (window as unknown as { __formReady?: boolean }).__formReady === true);
    await lead.getByRole("button", { name: "Call", exact: true }).click();
    expect(await lead.getByRole("menuitem").allTextContents()).toEqual(["Browser call", "WhatsApp call"]);
    await lead.getByRole("menuitem", { name: "WhatsApp call" }).click();

    const setup = lead.locator(".va-wa-call-setup");
    await poll(() => setup.getAttribute("data-permission")).toBe("none");
    expect(await setup.locator(".va-cp-title").textContent()).toBe("WhatsApp: Ann Example");
    expect(await setup.locator('[data-ref="permState"]').textContent()).toBe("None: the customer has not allowed calls");
    expect(await setup.locator('[data-ref="from"]').textContent()).toBe("From Sales +1 555-078-3881");
    expect(await setup.getByRole("button", { name: "Call on WhatsApp" }).isDisabled()).toBe(true);
    expect(site.calls.filter((c) => c.method === "whatsapp_calls.get_call_permission").pop()?.args).toEqual({ reference_doctype: "Lead", reference_name: "CRM-LEAD-2026-00001" });
    await shot(lead, "whatsapp-call-panel-no-permission");

    await setup.getByRole("button", { name: "Ask permission" }).click();
    await poll(() => setup.locator(".va-wa-notes").textContent()).toMatch(/^Permission asked .*: waiting for the customer's answer\.$/);
    expect(await setup.getByRole("button", { name: "Ask permission" }).isDisabled()).toBe(true);
    expect(site.calls.find((c) => c.method === "whatsapp_calls.request_call_permission")?.args).toEqual({ conversation: conv.ann });
    expect(site.messages(conv.ann as string).at(-1)?.kind).toBe("call_permission_request");
    await shot(lead, "whatsapp-call-panel-asked");

    site.whatsappCalls.answerPermission(conv.ann as string, true);
    await poll(() => setup.getAttribute("data-permission")).toBe("temporary");
    expect(await setup.locator('[data-ref="permState"]').textContent()).toMatch(/^Temporary: calls allowed until /);
    expect(await setup.getByRole("button", { name: "Ask permission" }).isHidden()).toBe(true);
    const callButton = setup.getByRole("button", { name: "Call on WhatsApp" });
    expect(await callButton.isEnabled()).toBe(true);
    await shot(lead, "whatsapp-call-panel-granted");

    await callButton.click();
    const panel = lead.locator(".va-call-panel:not(.va-wa-call-setup)");
    await panel.waitFor();
    expect(await panel.locator(".va-cp-title").textContent()).toBe("WhatsApp: Ann Example");
    await poll(() => panel.getAttribute("data-status")).toMatch(/^(ringing|connected)$/);
    expect(await setup.count()).toBe(0);
    expect(site.calls.find((c) => c.method === "whatsapp_calls.start_whatsapp_call")?.args).toEqual({
      reference_doctype: "Lead", reference_name: "CRM-LEAD-2026-00001", account: "WA-ACC-0001",
    });
    await lead.waitForTimeout(500);
    await shot(lead, "whatsapp-call-panel-calling");
  });

  it("nothing the pages did failed, and every answer and event met the contract", () => {
    expect(pageErrors).toEqual([]);
    expect(failedRequests).toEqual([]);
    expect(site.contractErrors).toEqual([]);
  });
});
