// WhatsApp messaging on a real Frappe + ERPNext site, against the loopback fake of Meta's Graph API
// (not in CI: no registry carries Frappe). The site's RQ worker, scheduler and socket.io must run, and
// the site must serve /socket.io at its own origin, as a production bench's nginx does.
//   VA_WA_SITE_URL=http://site1.localhost:8000 npx vitest run tests/e2e/whatsapp-site \
//     --root .. --testTimeout=240000 --hookTimeout=120000        (from tests/, or see docs/whatsapp.md)
// The site needs developer_mode for an account to point at the fake instead of graph.facebook.com.
// It makes its own account (a number and App Secret of its own), and removes what it made at the end
// (VA_WA_SITE_KEEP=1 keeps it, to look at). Screenshots: artifacts/screenshots/whatsapp-site-*.png.
import { randomBytes, randomInt } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { siteLogin } from "./support/site";
import { startFakeGraph, type FakeGraph } from "./support/whatsapp-graph";
import { png, screenshot } from "./support/whatsapp-media";
import { createAccount, drawerOf, onBenchMachine, openLeadPanel as openPanel, postWebhook as post, removeWhatsApp, Removal, restoreSingles, ROOT, saveSingles, type SavedSingles, signedText as signed, signedInPage, siteRest, waitForSite, WEBHOOK } from "./support/whatsapp-site";

const SITE = process.env.VA_WA_SITE_URL ?? "";
const KEEP = process.env.VA_WA_SITE_KEEP === "1";

const phoneNumberId = `1${randomInt(10 ** 13, 10 ** 14)}`;
const appSecret = randomBytes(16).toString("hex");
const token = `site-check-${randomBytes(8).toString("hex")}`;
const customer = `3519${randomInt(10 ** 7, 10 ** 8)}`; // a Portuguese mobile nobody on the site has
const poll = <T>(fn: () => Promise<T> | T, timeout = 20_000) => expect.poll(fn, { timeout, interval: 250 });

let sid = "";
let graph: FakeGraph;
let browser: Browser;
let page: Page;
let account = "";
let lead = "";
let conversation = "";
let savedSettings: SavedSingles | undefined;
// Its two logins: their sessions and "logged in" lines go at the end.
const sessions: string[] = [];
const logins: { user: string; from: number; until: number }[] = [];
let templatesBefore = new Set<string>();
const pageErrors: string[] = [];

const rest = siteRest(SITE, () => sid);
const { ok, list } = rest;

/** What a forged or replayed webhook must leave as it is. */
async function counts(): Promise<Record<string, number>> {
  const count = async (doctype: string, filters: unknown[]) => (await list(doctype, filters)).length;
  return {
    leads: await count("Lead", [["mobile_no", "like", `%${customer}%`]]),
    conversations: await count("WhatsApp Conversation", [["account", "=", account]]),
    messages: await count("WhatsApp Message", [["account", "=", account]]),
    events: await count("WhatsApp Webhook Event", [["account", "=", account]]),
  };
}

/** A `messages` webhook as Meta posts it, and its X-Hub-Signature-256 under `secret`. */
const signedText = (text: string, secret = appSecret) => signed({ graph, phoneNumberId, appSecret, customer, name: "Rita Sousa" }, text, secret);
const postWebhook = (body: string, signature: string) => post(SITE, body, signature);

const drawer = () => drawerOf(page);
const inDrawer = (text: string) => drawer().locator("li.va-wa-msg", { hasText: text });
const ticksOf = (text: string) => inDrawer(text).locator(".va-wa-ticks").getAttribute("data-ticks");

async function send(text: string): Promise<void> {
  const box = drawer().getByRole("textbox", { name: "Message" });
  await box.fill(text);
  await box.press("Enter");
  await poll(() => box.inputValue()).toBe("");
}

const openLeadPanel = () => openPanel(page, SITE, lead);

describe.runIf(SITE)("WhatsApp on a real site", () => {
  beforeAll(async () => {
    await waitForSite(SITE);
    // One session for these API calls, another for the browser: once the desk has used a session, Frappe
    // wants its CSRF token on every write made with it.
    const loggingIn = Date.now();
    sid = await siteLogin(SITE);
    const browserSid = await siteLogin(SITE);
    sessions.push(sid, browserSid);
    logins.push({ user: process.env.VA_SITE_USER ?? "Administrator", from: loggingIn, until: Date.now() });
    graph = await startFakeGraph(ROOT, { phoneNumberId, appSecret, token });
    await graph.setWebhook(`${SITE}${WEBHOOK}`);
    await graph.control("config", { status_delays: { sent: 0.3, delivered: 0.8, read: 1.5 } });
    savedSettings = await saveSingles(rest, { "WhatsApp Settings": ["create_party_for_unknown_numbers", "new_party_doctype"] });
    templatesBefore = new Set((await list<{ name: string }>("WhatsApp Template", [["waba_id", "=", graph.waba_id]])).map((t) => t.name));
    await ok("/api/resource/WhatsApp Settings/WhatsApp Settings", { method: "PUT", body: { create_party_for_unknown_numbers: 1, new_party_doctype: "Lead" } });
    account = await createAccount(rest, graph, { title: `Site check ${new Date().toISOString().slice(0, 19)}`, phoneNumberId, token, appSecret });
    ({ browser, page } = await signedInPage(SITE, browserSid, pageErrors));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await graph?.stop();
    if (!sid) return;
    if (savedSettings) await restoreSingles(rest, savedSettings);
    if (KEEP || !account) return;
    const removal = new Removal(rest);
    await removeWhatsApp(rest, removal, { account, customer, wabaId: graph.waba_id, templatesBefore });
    expect(removal.left, "what the check made is removed").toEqual([]);
    // The REST API cannot delete permanently: on the bench's own machine, its Python removes what Frappe keeps.
    if (onBenchMachine()) {
      expect(removal.forget({ sessions, logins }).deleted_documents, "the copies of what the check deleted are removed").toBeGreaterThanOrEqual(removal.removed.length);
    }
  }, 120_000);

  it("the account form tests the connection and syncs the templates", async () => {
    await page.goto(`${SITE}/app/whatsapp-account/${encodeURIComponent(account)}`);
    await page.locator(".form-message", { hasText: WEBHOOK }).waitFor();
    await page.getByRole("button", { name: "Test connection" }).click();
    const dialog = page.locator(".modal.show .modal-dialog");
    await dialog.filter({ hasText: "Connected:" }).waitFor();
    await screenshot(ROOT, page, "whatsapp-site-account-connected");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    await page.getByRole("button", { name: "Sync templates" }).click();
    await page.locator(".alert-message", { hasText: /Templates synced: \d+ new/ }).waitFor();
    const templates = await list<{ name: string }>("WhatsApp Template", [["waba_id", "=", graph.waba_id], ["template_name", "=", "order_update"]]);
    expect(templates.length).toBeGreaterThan(0);
    expect((await ok<{ status: string }>(`/api/resource/WhatsApp Account/${encodeURIComponent(account)}`)).status).toBe("Connected");
  });

  it("a text, an image, a button reply and a location from an unknown number make one Lead and show live", async () => {
    await page.goto(`${SITE}/app/whatsapp-inbox`);
    await page.locator(".va-wa-inbox").waitFor();
    await graph.inbound("text", { from: customer, body: "Hello, do you ship to Lisbon?" }, "Rita Sousa");
    // Live in the open inbox: no reload.
    const row = page.locator("button.va-wa-row", { hasText: "Hello, do you ship to Lisbon?" });
    await row.waitFor({ timeout: 20_000 });
    await screenshot(ROOT, page, "whatsapp-site-inbox");
    await poll(async () => (await list("Lead", [["mobile_no", "like", `%${customer}%`]])).length).toBe(1);
    const [created] = await list<{ name: string; lead_name: string; source: string }>("Lead", [["mobile_no", "like", `%${customer}%`]], ["name", "lead_name", "source"]);
    lead = created!.name;
    expect(created!.lead_name).toBe("Rita Sousa");
    conversation = (await row.getAttribute("data-conversation")) as string;

    await openLeadPanel();
    await inDrawer("Hello, do you ship to Lisbon?").waitFor();
    const photo = png(480, 320, [200, 80, 60], [250, 220, 120]);
    const media = await graph.seedMedia(photo, "image/png", "parcel.png");
    await graph.inbound("image", { from: customer, media_id: media.id, mime_type: "image/png", sha256: media.sha256, caption: "This is the parcel I mean" }, "Rita Sousa");
    const image = drawer().locator('li.va-wa-inbound[data-kind="image"]', { hasText: "This is the parcel I mean" });
    await poll(() => image.locator("img").evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth).catch(() => 0), 30_000).toBe(480);
    await graph.inbound("quick_reply_button", { from: customer, text_: "Yes, ship it", payload: "SHIP_YES" }, "Rita Sousa");
    await inDrawer("Yes, ship it").waitFor();
    await graph.inbound("location", { from: customer, latitude: 38.7223, longitude: -9.1393, name: "Praça do Comércio", address: "1100-148 Lisboa" }, "Rita Sousa");
    await drawer().locator("li.va-wa-msg a.va-wa-location", { hasText: "Praça do Comércio" }).waitFor();
    await screenshot(ROOT, page, "whatsapp-site-lead-inbound");

    expect(await counts()).toMatchObject({ leads: 1, conversations: 1, messages: 4 });
    const conv = await ok<{ party_doctype: string; party_name: string; wa_id: string }>(`/api/resource/WhatsApp Conversation/${encodeURIComponent(conversation)}`);
    expect(conv).toMatchObject({ party_doctype: "Lead", party_name: lead, wa_id: customer });
  });

  it("a reply, a template and an image are sent and reach read", async () => {
    await send("Yes, we ship to Lisbon in 3 days.");
    await graph.control("config", { status_delays: { sent: 0.3, delivered: 0.8, read: 1.5 } });
    await poll(() => ticksOf("Yes, we ship to Lisbon in 3 days.")).toBe("read");

    await drawer().getByRole("button", { name: "Send a template" }).click();
    const dialog = page.getByRole("dialog", { name: "Send a template" });
    await dialog.getByLabel("Template", { exact: true }).selectOption({ label: "order_update · en_US · utility" });
    await dialog.getByLabel("Body {{1}}").fill("Rita");
    await dialog.getByLabel("Body {{2}}").fill("SO-0042");
    await page.getByRole("button", { name: "Send template" }).click();
    await dialog.waitFor({ state: "detached" });
    await poll(() => ticksOf("Hi Rita, your order SO-0042 has shipped.")).toBe("read");

    await drawer().locator("input.va-wa-file-input").setInputFiles({ name: "label.png", mimeType: "image/png", buffer: png(360, 240, [30, 160, 110], [250, 250, 210]) });
    await drawer().locator(".va-wa-attachment-bar", { hasText: "label.png" }).waitFor();
    await send("Your shipping label");
    const sentImage = drawer().locator('li.va-wa-outbound[data-kind="image"]', { hasText: "Your shipping label" });
    await poll(() => sentImage.locator(".va-wa-ticks").getAttribute("data-ticks"), 30_000).toBe("read");
    expect(await sentImage.locator("img").evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(360);
    await screenshot(ROOT, page, "whatsapp-site-lead-sent");

    const sent = (await graph.control("messages", undefined, "GET")) as { messages?: { type: string }[] } | { type: string }[];
    const types = (Array.isArray(sent) ? sent : (sent.messages ?? [])).map((m) => m.type).sort();
    expect(types).toEqual(["image", "template", "text"]);
    const statuses = await list<{ status: string }>("WhatsApp Message", [["conversation", "=", conversation], ["direction", "=", "Outbound"]], ["status"]);
    expect(statuses.map((s) => s.status)).toEqual(["Read", "Read", "Read"]);
  });

  it("every message is on the Lead's timeline", async () => {
    await page.goto(`${SITE}/app/lead/${encodeURIComponent(lead)}`);
    await page.getByRole("tab", { name: "Activity" }).or(page.getByRole("tab", { name: "Activities" })).first().click();
    for (const text of ["Hello, do you ship to Lisbon?", "This is the parcel I mean", "Yes, we ship to Lisbon in 3 days.", "Hi Rita, your order SO-0042 has shipped."]) {
      await page.locator(".timeline-item", { hasText: text }).first().waitFor();
    }
    await page.locator(".timeline-item", { hasText: "Hello, do you ship to Lisbon?" }).first().scrollIntoViewIfNeeded();
    await screenshot(ROOT, page, "whatsapp-site-lead-timeline");
  });

  it("a forged, an altered or a replayed webhook changes nothing", async () => {
    const first = signedText("Is it insured?");
    expect((await postWebhook(first.body, first.signature)).status).toBe(200);
    await poll(async () => (await list("WhatsApp Message", [["wamid", "=", first.wamid]])).length).toBe(1);
    const before = await counts();

    const forged = signedText("Send it to another address", "not-the-app-secret");
    const altered = first.body.replace("Is it insured?", "Cancel my order");
    const refusals = [await postWebhook(forged.body, forged.signature), await postWebhook(altered, first.signature), await postWebhook(forged.body, "")];
    expect(refusals.map((r) => r.status)).toEqual([401, 401, 401]);
    const replays = await Promise.all([1, 2, 3].map(() => postWebhook(first.body, first.signature)));
    expect(replays.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await Promise.all(replays.map(async (r) => ((await r.json()) as { message: { status: string } }).message.status))).toEqual(["duplicate", "duplicate", "duplicate"]);
    await page.waitForTimeout(3000); // what a worker would do with them, had they been queued
    expect(await counts()).toEqual(before);
    expect(await list("WhatsApp Message", [["text", "like", "%another address%"]])).toEqual([]);
    expect(await list("WhatsApp Message", [["text", "like", "%Cancel my order%"]])).toEqual([]);
  });

  it("a Graph outage loses no outbound message", async () => {
    await openLeadPanel();
    await graph.control("mode", { mode: "5xx" });
    const texts = ["Outage 1: your parcel left Porto", "Outage 2: it arrives tomorrow", "Outage 3: reply STOP to opt out"];
    for (const text of texts) await send(text);
    for (const text of texts) await poll(() => inDrawer(text).getAttribute("data-status"), 30_000).toBe("queued");
    await poll(async () => (await list<{ error_code: number }>("WhatsApp Message", [["conversation", "=", conversation], ["text", "like", "Outage %"], ["error_code", "is", "set"]], ["error_code"])).length, 30_000).toBe(3);
    await screenshot(ROOT, page, "whatsapp-site-outage-queued");
    await page.waitForTimeout(5000);
    await graph.control("mode", { mode: "ok" });
    // Retries with backoff, then the scheduler's minute sweep: all within a few minutes.
    for (const text of texts) await poll(() => ticksOf(text), 180_000).toBe("read");
    await screenshot(ROOT, page, "whatsapp-site-outage-recovered");
    const sent = (await graph.control("messages", undefined, "GET")) as { messages?: { type: string; payload: { text?: { body: string } } }[] } | { type: string; payload: { text?: { body: string } } }[];
    const bodies = (Array.isArray(sent) ? sent : (sent.messages ?? [])).map((m) => m.payload.text?.body).filter((b) => b?.startsWith("Outage"));
    expect(bodies.sort()).toEqual([...texts].sort()); // each once
    expect(pageErrors).toEqual([]);
  }, 300_000);
});
