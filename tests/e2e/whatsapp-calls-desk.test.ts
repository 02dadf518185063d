// WhatsApp calls in the desk, in Chromium: the incoming-call popup of every desk page (the real
// whatsapp_calls.js, as app_include_js loads it) for two users in their own browser contexts, and the
// call panel's WhatsApp mode from a Lead's Call button (the real call_button.js and call_panel.js).
// The fake Frappe of the WhatsApp desk tests answers voice_agent.api.whatsapp_calls.* and pushes the
// calls' realtime events, every one checked against contracts/frappe-api.schema.json; join answers
// open rooms on the real sidecar, where the customer's WhatsApp is a Meta-like peer (ICE-lite, Opus 111,
// DTLS-SRTP; mediasoup-sidecar/test/support/meta-peer.ts) on the sidecar's WhatsApp leg.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { counters, growth, panelEnding } from "./support/call-browser";
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
const MANAGER = "manager@example.com";
const FULL_NAME: Record<string, string> = { [USER]: "Alex Agent", [COLLEAGUE]: "Casey Colleague", [MANAGER]: "Sam Supervisor" };
// Ann's WhatsApp as the sidecar's leg knows it (whatsapp_participant_id).
const ANN = { participantId: "whatsapp:16505550123", name: "Ann Example" };
// The sidecar's call events stay in its outbox (no FRAPPE_URL): read there to see what it reports.
const OUTBOX = mkdtempSync(join(tmpdir(), "va-wa-calls-outbox-"));
const SIDECAR_ENV = { SIDECAR_OUTBOX_PATH: OUTBOX, SIDECAR_WHATSAPP_MEDIA_TIMEOUT_SEC: "3" };

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

const poll = <T>(fn: () => Promise<T> | T, message?: string) => expect.poll(fn, { timeout: 15_000, interval: 100, message });
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

/** RTP the customer's WhatsApp receives in the next `ms`: the agent's voice, and the leg's 3-byte Opus silence frames. */
async function towardCustomer(peer: MetaPeer, ms: number): Promise<{ voice: number; silence: number }> {
  const from = peer.received.length;
  await new Promise((resolve) => setTimeout(resolve, ms));
  const got = peer.received.slice(from);
  return { voice: got.filter((r) => r.payloadSize > 3).length, silence: got.filter((r) => r.payloadSize <= 3).length };
}

let mediaDeskPage: Page | undefined;
/** The agent's desk page the media tests take their calls on (one browser context for all of them). */
async function mediaDesk(): Promise<Page> {
  mediaDeskPage ??= await (await deskUser(USER)).open("/app/lead/CRM-LEAD-2026-00002");
  return mediaDeskPage;
}

/**
 * Ann calls and the agent takes the call in the popup, with media: as the connect webhook does, the
 * room and the WhatsApp leg answering the Meta peer's offer; the peer sends its audio from then on.
 */
async function takeCallWithMedia(page: Page): Promise<{ call: string; peer: MetaPeer; panel: Locator }> {
  const call = site.whatsappCalls.ring(conv.ann as string);
  const peer = await MetaPeer.create();
  peers.push(peer);
  expect((await sidecar.api("POST", "/api/rooms", { callId: call })).status).toBe(201);
  const leg = await sidecar.api<{ sdp: string }>("POST", `/api/rooms/${call}/whatsapp/answer`, { ...ANN, waCallId: `wacid.e2e-${call}`, offer: peer.offer() });
  expect(leg.status).toBe(201);
  await peer.acceptAnswer(leg.body.sdp);
  peer.startSending();
  await popup(page, call).getByRole("button", { name: "Accept" }).click();
  const panel = page.locator(".va-call-panel");
  await poll(() => panel.getAttribute("data-call")).toBe(call);
  await poll(() => panel.getAttribute("data-status")).toBe("connected");
  await poll(async () => (await towardCustomer(peer, 500)).voice, "the agent's voice at the customer").toBeGreaterThan(15);
  return { call, peer, panel };
}

/**
 * The agent calls Ann on WhatsApp from her Lead (Call → WhatsApp call → Call on WhatsApp), with media: as
 * WhatsAppChannel.start makes the leg's offer for Graph connect, and the connect webhook brings Meta's
 * answer once Ann picks up (the Meta peer answers the leg's offer).
 */
async function placeCallWithMedia(): Promise<{ page: Page; call: string; peer: MetaPeer; panel: Locator }> {
  site.whatsappCalls.answerPermission(conv.ann as string, true);
  const page = await (await deskUser(USER)).open("/app/lead/CRM-LEAD-2026-00001");
  await page.waitForFunction(() => (window as unknown as { __formReady?: boolean }).__formReady === true);
  await page.getByRole("button", { name: "Call", exact: true }).click();
  await page.getByRole("menuitem", { name: "WhatsApp call" }).click();
  const setup = page.locator(".va-wa-call-setup");
  await poll(() => setup.getAttribute("data-permission")).toBe("temporary");
  await setup.getByRole("button", { name: "Call on WhatsApp" }).click();
  const panel = page.locator(".va-call-panel:not(.va-wa-call-setup)");
  await poll(() => panel.getAttribute("data-call")).toMatch(/^VC-/);
  const call = (await panel.getAttribute("data-call")) as string;
  // Nobody else is in the room yet: the desk rings.
  await poll(() => panel.getAttribute("data-status")).toBe("ringing");

  const peer = await MetaPeer.create();
  peers.push(peer);
  const offer = await sidecar.api<{ sdpType: string; sdp: string }>("POST", `/api/rooms/${call}/whatsapp/offer`, ANN);
  expect(offer.status).toBe(201);
  expect(offer.body.sdpType).toBe("offer");
  const answer = await peer.answer(offer.body.sdp);
  const applied = await sidecar.api("POST", `/api/rooms/${call}/whatsapp/remote-answer`, { participantId: ANN.participantId, waCallId: `wacid.e2e-${call}`, answer });
  expect(applied.status).toBe(200);
  peer.startSending();
  await poll(() => panel.getAttribute("data-status")).toBe("connected");
  return { page, call, peer, panel };
}

/** The call events the sidecar reported for `call` (its outbox, oldest first). */
function reported(call: string): { type: string; [field: string]: unknown }[] {
  const db = new DatabaseSync(join(OUTBOX, "call-events.sqlite"), { readOnly: true });
  try {
    return db.prepare("SELECT body FROM events WHERE call_id = ? ORDER BY row_id").all(call).map((row) => JSON.parse(String(row.body)));
  } finally {
    db.close();
  }
}

/** The desk hangs up: end_call ends the room, and the WhatsApp leg with it (nothing more toward the customer). */
async function hangUp(page: Page, call: string, panel: Locator, peer: MetaPeer): Promise<void> {
  await panel.getByRole("button", { name: "Hang up" }).click();
  await poll(() => panel.getAttribute("data-status")).toBe("ended");
  expect(site.calls.filter((c) => c.method === "calls.end_call").at(-1)?.args).toEqual({ call, reason: "hangup" });
  // The room ends before end_call's answer: Frappe records the end after telling the sidecar.
  await poll(() => site.whatsappCalls.state(call)?.state).toBe("ended");
  await page.waitForTimeout(300);
  const after = await towardCustomer(peer, 1000);
  expect(after.voice + after.silence, "packets toward the customer after the hang-up").toBe(0);
}

beforeAll(async () => {
  python = await startAppPython(ROOT);
  graph = await startFakeGraph(ROOT);
  sidecar = await startSidecar(SIDECAR_ENV);
  site = await startFakeFrappe({
    root: ROOT,
    python,
    graph,
    parties: PARTIES,
    calling: {
      // As service.join_answer after the room exists (the leg's room for an incoming call, start_call's for ours).
      async joinAnswer(call, user, supervisor) {
        const room = await sidecar.api("POST", "/api/rooms", { callId: call });
        if (room.status !== 201 && room.status !== 200) throw new Error(`sidecar room ${call}: HTTP ${room.status}`);
        const role = supervisor ? "supervisor" : "agent";
        return {
          call,
          signaling_url: sidecar.url,
          token: await mintToken({ callId: call, participantId: user, role, name: FULL_NAME[user] ?? user, ...(supervisor ? { listenOnly: supervisor.listenOnly } : {}) }),
          expires_at: new Date(Date.now() + 600_000).toISOString(),
          ice_servers: [],
          role,
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
  rmSync(OUTBOX, { recursive: true, force: true });
}, 30_000);

describe("WhatsApp calls in the desk", () => {
  let agent: Page;
  let colleague: Page;

  it("a customer's call rings both users' desks; the first to accept gets the panel, the other sees who took it", async () => {
    // Any desk page: a form for one, the inbox for the other.
    agent = await (await deskUser(USER)).open("/app/lead/CRM-LEAD-2026-00002");
    colleague = await (await deskUser(COLLEAGUE, "dark")).open("/app/whatsapp-inbox");

    // How fast the popup shows is a benchmark's figure (on the real site: docs/benchmarks.md), not a
    // timed assertion on a shared CI machine.
    const call = site.whatsappCalls.ring(conv.ann as string);
    await Promise.all([popup(agent, call).waitFor(), popup(colleague, call).waitFor()]);

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
    // The customer is on WhatsApp: no invite link to send (Hold is there, as on any agent's call).
    await panel.getByRole("button", { name: "Hold" }).waitFor();
    expect(await panel.getByRole("button", { name: "Send invite" }).isHidden()).toBe(true);

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

  it("an accepted call carries audio both ways between the desk and the customer's WhatsApp; the desk hangs up", async () => {
    const page = await mediaDesk();
    const { call, peer, panel } = await takeCallWithMedia(page);
    const heard = () => peer.received.filter((r) => r.payloadSize > 3).length;  // the agent's voice, not silence
    const before = heard();
    const grown = await growth(page, 3000);
    expect(grown.packetsReceived, "the customer's audio at the desk").toBeGreaterThan(100);
    expect(grown.packetsSent, "the desk's audio sent").toBeGreaterThan(100);
    expect(heard() - before, "the desk's audio at the customer's WhatsApp").toBeGreaterThan(100);
    await shot(page, "whatsapp-call-media-panel");
    await hangUp(page, call, panel, peer);
  });

  it("muted at the desk, the customer's WhatsApp gets the leg's silence instead of the agent's voice; unmuted, the voice again", async () => {
    const page = await mediaDesk();
    const { call, peer, panel } = await takeCallWithMedia(page);
    const mute = panel.locator('[data-ref="mute"]');
    await panel.getByRole("button", { name: "Mute" }).click();
    await poll(() => mute.getAttribute("aria-pressed")).toBe("true");
    expect(await mute.textContent()).toBe("Unmute");
    const room = await sidecar.api<{ participants: { participantId: string; muted: boolean }[] }>("GET", `/api/rooms/${call}`);
    expect(room.body.participants.find((p) => p.participantId === USER)?.muted).toBe(true);
    await page.waitForTimeout(500);
    // Meta drops a call it hears nothing on: the leg keeps sending, its own silence in place of the agent.
    const [muted, atDesk] = await Promise.all([towardCustomer(peer, 1500), growth(page, 1500)]);
    expect(muted.voice, "the agent's voice at the customer while muted").toBe(0);
    expect(muted.silence, "silence frames toward the customer while muted").toBeGreaterThan(40);
    expect(atDesk.packetsReceived, "the customer's audio at the muted desk").toBeGreaterThan(40);
    await shot(page, "whatsapp-call-muted");

    await panel.getByRole("button", { name: "Unmute" }).click();
    await poll(() => mute.getAttribute("aria-pressed")).toBe("false");
    await poll(async () => (await towardCustomer(peer, 1000)).voice, "the agent's voice after unmuting").toBeGreaterThan(30);
    await hangUp(page, call, panel, peer);
  });

  it("on hold, the customer's WhatsApp gets silence and the desk hears nothing; resumed, audio both ways again", async () => {
    const page = await mediaDesk();
    const { call, peer, panel } = await takeCallWithMedia(page);
    await panel.getByRole("button", { name: "Hold" }).click();
    await poll(() => panel.getAttribute("data-status")).toBe("on_hold");
    expect(await panel.getByRole("status").textContent()).toBe("On hold");
    expect(await panel.locator('[data-ref="hold"]').getAttribute("aria-pressed")).toBe("true");
    await page.waitForTimeout(500);
    const [held, atDesk] = await Promise.all([towardCustomer(peer, 1500), growth(page, 1500)]);
    expect(held.voice, "the agent's voice at the customer on hold").toBe(0);
    expect(held.silence, "silence frames toward the customer on hold").toBeGreaterThan(40);
    expect(atDesk.packetsReceived, "the customer's audio at the desk on hold").toBeLessThanOrEqual(2);
    await shot(page, "whatsapp-call-on-hold");

    await panel.getByRole("button", { name: "Resume" }).click();
    await poll(() => panel.getAttribute("data-status")).toBe("connected");
    await poll(async () => (await towardCustomer(peer, 1000)).voice, "the agent's voice after resuming").toBeGreaterThan(30);
    await poll(async () => (await growth(page, 1000)).packetsReceived, "the customer's audio after resuming").toBeGreaterThan(30);
    await hangUp(page, call, panel, peer);
  });

  it("a supervisor listens in as on browser calls: hears the customer's WhatsApp and the agent, sends nothing; the customer hears the agent", async () => {
    const page = await mediaDesk();
    const { call, peer, panel } = await takeCallWithMedia(page);
    // The Voice Call form's Supervise → Listen in (voice_call_supervise.js) opens the panel so.
    const supervisor = await (await deskUser(MANAGER)).open("/app/whatsapp-inbox");
    await supervisor.evaluate(
      (c) =>
        new Promise<void>((resolve) => {
          const w = window as unknown as { frappe: { require(url: string, cb: () => void): void }; voice_agent: { open_call_panel(o: object): unknown } };
          w.frappe.require("/assets/voice_agent/dist/call_panel.js", () => {
            w.voice_agent.open_call_panel({ supervise_call: c, listen_only: true, title: `Listening in: ${c}` });
            resolve();
          });
        }),
      call,
    );
    const listening = supervisor.locator(".va-call-panel");
    await poll(() => listening.getAttribute("data-status")).toBe("connected");
    expect(site.calls.find((c) => c.method === "calls.join_as_supervisor")?.args).toEqual({ call, listen_only: "true" });
    await poll(async () => (await counters(supervisor))?.activeInbound, "the supervisor consumes the agent and the customer").toBe(2);
    const heard = await growth(supervisor, 1500);
    expect(heard.packetsReceived, "both parties' audio at the supervisor").toBeGreaterThan(2 * 40);
    expect((await counters(supervisor))?.packetsSent, "the listen-only supervisor's audio").toBe(0);
    const room = await sidecar.api<{ participants: { participantId: string; role: string; listenOnly: boolean }[] }>("GET", `/api/rooms/${call}`);
    expect(room.body.participants.map((p) => [p.role, p.participantId, p.listenOnly]).sort()).toEqual([
      ["agent", USER, false],
      ["supervisor", MANAGER, true],
      ["whatsapp", ANN.participantId, false],
    ]);
    expect((await towardCustomer(peer, 1000)).voice, "the agent's voice at the customer with a supervisor in").toBeGreaterThan(30);
    await poll(() => listening.locator(".va-cp-people li").count()).toBe(3);
    expect(await listening.locator('[data-ref="mute"]').isHidden()).toBe(true);
    await poll(() => panel.locator(".va-cp-people li").count()).toBe(3);
    await shot(supervisor, "whatsapp-call-supervisor");
    await shot(page, "whatsapp-call-supervised-agent");

    await hangUp(page, call, panel, peer);
    await poll(() => listening.getAttribute("data-status")).toBe("ended");
    expect(await panelEnding(supervisor)).toEqual({ title: "Call ended", detail: "The agent hung up.", isError: false });
  });

  it("the customer hangs up in WhatsApp (Meta's terminate): the panel says so and nothing more goes to the customer", async () => {
    const page = await mediaDesk();
    const { call, peer, panel } = await takeCallWithMedia(page);
    await site.whatsappCalls.terminate(call);
    await poll(() => panel.getAttribute("data-status")).toBe("ended");
    expect(await panelEnding(page)).toEqual({ title: "Call ended", detail: "The customer hung up.", isError: false });
    await page.waitForTimeout(300);
    const after = await towardCustomer(peer, 1000);
    expect(after.voice + after.silence, "packets toward the customer after Meta's terminate").toBe(0);
    expect(site.whatsappCalls.state(call)?.state).toBe("ended");
    await shot(page, "whatsapp-call-customer-hung-up");

    // Ended by Frappe's word, the panel is over for the desk too: the next call accepted opens its own.
    const next = site.whatsappCalls.ring(conv.bob as string);
    await popup(page, next).getByRole("button", { name: "Accept" }).click();
    await poll(() => panel.getAttribute("data-call")).toBe(next);
    await poll(() => panel.getAttribute("data-status")).toBe("ringing");
    await panel.getByRole("button", { name: "Hang up" }).click();
    await poll(() => panel.getAttribute("data-status")).toBe("ended");
    await poll(() => site.whatsappCalls.state(next)?.state).toBe("ended");
  });

  it("the customer's WhatsApp goes quiet with no terminate: the leg's media timeout fails the call with its reason", async () => {
    const page = await mediaDesk();
    const { call, peer, panel } = await takeCallWithMedia(page);
    peer.stopSending();
    // SIDECAR_WHATSAPP_MEDIA_TIMEOUT_SEC=3 here.
    await poll(() => panel.getAttribute("data-status")).toBe("ended");
    expect(await panelEnding(page)).toEqual({ title: "Call failed", detail: "The audio connection could not be kept up.", isError: true });
    const after = await towardCustomer(peer, 1000);
    expect(after.voice + after.silence, "packets toward the customer after the leg failed").toBe(0);
    // What Frappe hears: the leg's reason, then the call's (its intake fails the Voice Call, and settle terminates at Meta).
    const events = reported(call);
    expect(events.find((e) => e.type === "participant.left" && (e.payload as { role: string }).role === "whatsapp")?.payload).toEqual({
      participantId: ANN.participantId, role: "whatsapp", reason: "media_timeout",
    });
    expect(events.filter((e) => e.type === "call.state_changed").at(-1)?.payload).toMatchObject({ to: "failed", reason: "media_failed" });
    await shot(page, "whatsapp-call-media-failed");
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

  it("the agent's WhatsApp call: the sidecar's offer, the customer's answer, audio both ways; the desk hangs up", async () => {
    const { page, call, peer, panel } = await placeCallWithMedia();
    expect(await panel.locator(".va-cp-title").textContent()).toBe("WhatsApp: Ann Example");
    expect(await panel.getByRole("button", { name: "Send invite" }).isHidden()).toBe(true);
    const before = peer.received.filter((r) => r.payloadSize > 3).length;
    const grown = await growth(page, 3000);
    expect(grown.packetsReceived, "the customer's audio at the desk").toBeGreaterThan(100);
    expect(grown.packetsSent, "the desk's audio sent").toBeGreaterThan(100);
    expect(peer.received.filter((r) => r.payloadSize > 3).length - before, "the desk's audio at the customer's WhatsApp").toBeGreaterThan(100);
    const room = await sidecar.api<{ state: string; participants: { participantId: string; role: string; waCallId?: string }[] }>("GET", `/api/rooms/${call}`);
    expect(room.body.participants.find((p) => p.role === "whatsapp")).toMatchObject({ participantId: ANN.participantId, waCallId: `wacid.e2e-${call}` });
    await shot(page, "whatsapp-call-outbound-media");
    await hangUp(page, call, panel, peer);
  });

  it("the call server restarting during a WhatsApp call: the panel warns, then ends it with the reason; the customer gets nothing more; the sidecar reports it", async () => {
    const { page, call, peer, panel } = await placeCallWithMedia();
    const stopped = sidecar.stop();
    await page.locator('[data-ref="warning"]:not([hidden])').waitFor({ timeout: 5000 });
    expect(await page.locator('[data-ref="warning"]').textContent()).toMatch(/^This call will end in [01] s: the call server is restarting for maintenance\.$/);
    await poll(() => panel.getAttribute("data-status")).toBe("ended");
    expect(await panelEnding(page)).toEqual({
      title: "Call ended",
      detail: "The call server was shut down for maintenance. You can call again once it is back.",
      isError: false,
    });
    expect(await stopped).toBe(0);
    const after = await towardCustomer(peer, 1000);
    expect(after.voice + after.silence, "packets toward the customer after the call server stopped").toBe(0);
    await shot(page, "whatsapp-call-server-restarted");
    // What Frappe hears (its intake ends the Voice Call, and the settle job terminates the call at Meta).
    const events = reported(call);
    expect(events.filter((e) => e.type === "call.state_changed").at(-1)?.payload).toEqual({ from: "connected", to: "ended", reason: "sidecar_shutdown" });
    expect(events.filter((e) => e.type === "participant.left").map((e) => e.payload)).toEqual([
      { participantId: USER, role: "agent", reason: "call_ended" },
      { participantId: ANN.participantId, role: "whatsapp", reason: "call_ended" },
    ]);
    expect(events.find((e) => e.type === "quality.summary")?.payload).toMatchObject({ final: true, participants: { [ANN.participantId]: { role: "whatsapp" } } });
    // Back for what follows (and as pm2 would restart it).
    sidecar = await startSidecar(SIDECAR_ENV);
  });

  it("nothing the pages did failed, and every answer and event met the contract", () => {
    expect(pageErrors).toEqual([]);
    expect(failedRequests).toEqual([]);
    expect(site.contractErrors).toEqual([]);
  });
});
