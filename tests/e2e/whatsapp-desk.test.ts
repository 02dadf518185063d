// The WhatsApp desk UI in Chromium: the record's panel (through the real whatsapp_panel.js loader
// on a form) and the shared inbox page (through the real page script), against a fake Frappe
// whose every answer and push is checked against contracts/whatsapp-api.schema.json, which runs
// the app's pure Python for webhooks, Graph calls, templates and error sentences, behind which
// the loopback fake of Meta's Graph API accepts sends and uploads and posts signed status webhooks.
// One browser, two pages (a Lead's form and the inbox), the scenarios in order.
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM_PATH, chromiumArgs } from "./support/chromium";
import { startFakeFrappe, COLLEAGUE, type FakeFrappe, type PartyRecord } from "./support/whatsapp-frappe";
import { startFakeGraph, type FakeGraph } from "./support/whatsapp-graph";
import { pdf, png, screenshot } from "./support/whatsapp-media";
import { startAppPython, type AppPython } from "./support/whatsapp-python";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const ANN = "16505550123";
const PARTIES: PartyRecord[] = [
  { doctype: "Lead", name: "CRM-LEAD-2026-00001", title: "Ann Example", phone: "+1 650 555 0123" },
  { doctype: "Lead", name: "CRM-LEAD-2026-00002", title: "Bob Builder", phone: "+1 650 555 0145" },
  { doctype: "Contact", name: "Cara Jones", title: "Cara Jones", phone: "+1 650 555 0167" },
  { doctype: "Customer", name: "Dan's Deli", title: "Dan's Deli", phone: "+1 650 555 0189" },
  { doctype: "Lead", name: "CRM-LEAD-2026-00003", title: "Eve Adams", phone: "+1 650 555 0110" },
];

let python: AppPython;
let graph: FakeGraph;
let site: FakeFrappe;
let browser: Browser;
let context: BrowserContext;
let form: Page;
let inbox: Page;
const pageErrors: string[] = [];
const failedRequests: string[] = [];
const conv: Record<string, string> = {};

/** expect.poll with room for a busy 2-core CI machine (vitest's default gives up after 1 s). */
const poll = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 15_000, interval: 100 });

function watch(page: Page, label: string): Page {
  page.on("pageerror", (e) => pageErrors.push(`${label}: ${e.message}`));
  page.on("response", (r) => {
    // A refusal the test provokes (417 from an endpoint) is checked in the fake's own record instead.
    const refused = r.status() === 417 && r.url().includes("/api/method/voice_agent.api.whatsapp.");
    if (r.status() >= 400 && !refused) failedRequests.push(`${label}: ${r.request().method()} ${r.url()} -> ${r.status()}`);
  });
  page.on("requestfailed", (r) => {
    // A page left while its event stream is open aborts that request; nothing else may fail.
    if (!r.url().includes("/harness/realtime")) failedRequests.push(`${label}: ${r.url()} ${r.failure()?.errorText}`);
  });
  return page;
}

async function openForm(doctype: string, name: string): Promise<void> {
  await form.goto(`${site.origin}/app/${doctype.toLowerCase().replace(/ /g, "-")}/${encodeURIComponent(name)}`);
  await form.waitForFunction(() => (window as unknown as { __formReady?: boolean }).__formReady === true);
  await form.getByRole("button", { name: "WhatsApp", exact: true }).click();
  await form.locator(".va-wa-drawer").waitFor();
}

const drawer = () => form.locator(".va-wa-drawer");
const row = (name: string) => inbox.locator(`button.va-wa-row[data-conversation="${name}"]`);

/** The data-status values each message of the drawer has shown, in order. */
async function recordStatuses(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __statusLog: Record<string, string[]> };
    w.__statusLog = {};
    const list = document.querySelector(".va-wa-drawer .va-wa-conv:not([hidden]) .va-wa-messages") as HTMLElement;
    const record = () => {
      for (const li of list.querySelectorAll<HTMLElement>("li.va-wa-msg[data-name]")) {
        const log = (w.__statusLog[li.dataset.name as string] ??= []);
        if (log[log.length - 1] !== li.dataset.status) log.push(li.dataset.status as string);
      }
    };
    new MutationObserver(record).observe(list, { childList: true, subtree: true, attributes: true, attributeFilter: ["data-status"] });
  });
}

const statusLog = (page: Page, name: string) =>
  page.evaluate((n) => (window as unknown as { __statusLog: Record<string, string[]> }).__statusLog[n] ?? [], name);

async function graphSent(type: string): Promise<Record<string, unknown>[]> {
  const sent = (await graph.control("messages", undefined, "GET")) as { messages?: Record<string, unknown>[] } | Record<string, unknown>[];
  const list = Array.isArray(sent) ? sent : (sent.messages ?? []);
  return list.filter((m) => m.type === type);
}

beforeAll(async () => {
  python = await startAppPython(ROOT);
  graph = await startFakeGraph(ROOT);
  site = await startFakeFrappe({ root: ROOT, python, graph, parties: PARTIES });
  await graph.setWebhook(`${site.origin}/api/method/voice_agent.api.whatsapp.whatsapp_webhook`);
  const photo = png(480, 320, [40, 120, 200], [240, 190, 90]);
  conv.ann = await site.seedConversation({
    party: { doctype: "Lead", name: "CRM-LEAD-2026-00001" },
    wa_id: ANN,
    profile_name: "Ann Example",
    history: [
      { direction: "inbound", text: "Hello! I ordered a blue kettle last week.", minutesAgo: 50 },
      { direction: "outbound", text: "Thanks Ann, let me check that for you.", minutesAgo: 48 },
      { direction: "inbound", text: "This is the box I got", minutesAgo: 47, file: { data: photo, mime_type: "image/png", filename: "box.png" } },
      { direction: "inbound", kind: "document", minutesAgo: 46, file: { data: pdf("Order SO-0042"), mime_type: "application/pdf", filename: "order-SO-0042.pdf" } },
    ],
  });
  conv.cara = await site.seedConversation({
    party: { doctype: "Contact", name: "Cara Jones" },
    wa_id: "16505550167",
    profile_name: "Cara",
    history: Array.from({ length: 45 }, (_, i) => ({
      direction: i % 3 === 2 ? ("outbound" as const) : ("inbound" as const),
      text: `Message ${i + 1} about the spring order`,
      minutesAgo: 29 * 60 + (45 - i) * 3,
    })),
  });
  conv.dan = await site.seedConversation({
    party: { doctype: "Customer", name: "Dan's Deli" },
    wa_id: "16505550189",
    profile_name: "Dan",
    unread_count: 2,
    history: [
      { direction: "inbound", text: "Do you deliver on Sundays?", minutesAgo: 12 },
      { direction: "inbound", text: "We would need 40 sandwiches.", minutesAgo: 11 },
    ],
  });
  conv.eve = await site.seedConversation({
    party: { doctype: "Lead", name: "CRM-LEAD-2026-00003" },
    wa_id: "16505550110",
    profile_name: "Eve",
    assigned_to: COLLEAGUE,
    history: [
      { direction: "inbound", text: "Can I book a demo for Tuesday?", minutesAgo: 200 },
      { direction: "outbound", text: "Of course, 10:00 works for us.", minutesAgo: 190 },
    ],
  });
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: chromiumArgs() });
  context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-GB", timezoneId: "UTC" });
  context.setDefaultTimeout(15_000);
  inbox = watch(await context.newPage(), "inbox");
  form = watch(await context.newPage(), "form");
}, 60_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await site?.stop();
  await graph?.stop();
  await python?.stop();
}, 30_000);

describe("WhatsApp desk: panel and inbox against the fake Frappe and the Graph fake", () => {
  it("a customer's message shows live in the inbox (unread count) and in the Lead's panel, which marks it read", async () => {
    await inbox.goto(`${site.origin}/app/whatsapp-inbox`);
    await poll(() => inbox.locator("button.va-wa-row").count()).toBe(4);
    const unreadFilter = inbox.locator('[data-filter="unread"] [data-count]');
    await poll(() => unreadFilter.textContent()).toBe("1"); // Dan's
    await form.goto(`${site.origin}/app/lead/CRM-LEAD-2026-00001`);
    await form.waitForFunction(() => (window as unknown as { __formReady?: boolean }).__formReady === true);

    const { message_id: first } = await graph.inbound("text", { from: ANN, body: "Is my order on its way?" }, "Ann Example");
    await poll(() => row(conv.ann as string).getAttribute("data-unread")).toBe("true");
    await poll(() => inbox.locator("button.va-wa-row").first().getAttribute("data-conversation")).toBe(conv.ann);
    expect(await row(conv.ann as string).locator(".va-wa-badge").textContent()).toBe("1");
    expect(await row(conv.ann as string).locator(".va-wa-row-preview").textContent()).toBe("Is my order on its way?");
    await poll(() => unreadFilter.textContent()).toBe("2");

    // The Lead's WhatsApp button (the real loader) opens the panel: the message is there, and read.
    await form.getByRole("button", { name: "WhatsApp", exact: true }).click();
    await drawer().locator("li.va-wa-msg", { hasText: "Is my order on its way?" }).waitFor();
    await poll(() => row(conv.ann as string).getAttribute("data-unread")).toBe("false");
    await poll(() => unreadFilter.textContent()).toBe("1");
    await expect
      .poll(async () => {
        const requests = (await graph.control("requests?path_contains=messages&method=POST", undefined, "GET")) as { body: { status?: string; message_id?: string } }[];
        return requests.some((r) => r.body?.status === "read" && r.body.message_id === first);
      })
      .toBe(true);

    // With the panel open, the next message appears without reloading, announced, and is read at once.
    const before = await drawer().locator("li.va-wa-msg").count();
    await graph.inbound("text", { from: ANN, body: "Also, can I change the delivery address?" }, "Ann Example");
    await drawer().locator("li.va-wa-msg", { hasText: "can I change the delivery address" }).waitFor();
    expect(await drawer().locator("li.va-wa-msg").count()).toBe(before + 1);
    await poll(() => drawer().locator(".va-wa-conv:not([hidden]) > [role=status][aria-live]").textContent()).toContain("New message from Ann Example");
    await poll(() => row(conv.ann as string).locator(".va-wa-row-preview").textContent()).toBe("Also, can I change the delivery address?");
    await poll(() => site.messages(conv.ann as string).filter((m) => m.direction === "inbound" && m.status === "received").length).toBe(0);

    // The customer's photo: shown as downloading at once, then as the image the site fetched from Meta.
    await form.evaluate(() => {
      const w = window as unknown as { __sawPending: boolean };
      w.__sawPending = false;
      const list = document.querySelector(".va-wa-drawer .va-wa-messages") as HTMLElement;
      new MutationObserver(() => {
        if (list.querySelector('li.va-wa-inbound[data-kind="image"] [data-media-state="pending"]')) w.__sawPending = true;
      }).observe(list, { childList: true, subtree: true });
    });
    const photo = png(400, 300, [200, 80, 60], [250, 220, 120]);
    const media = await graph.seedMedia(photo, "image/png", "parcel.png");
    await graph.inbound("image", { from: ANN, media_id: media.id, mime_type: "image/png", sha256: media.sha256, caption: "The parcel arrived damaged" }, "Ann Example");
    const inboundImage = drawer().locator('li.va-wa-inbound[data-kind="image"]', { hasText: "The parcel arrived damaged" });
    await inboundImage.locator("img").waitFor();
    await poll(() => inboundImage.locator("img").evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(400);
    expect(await form.evaluate(() => (window as unknown as { __sawPending: boolean }).__sawPending)).toBe(true);
    const stored = site.messages(conv.ann as string).find((m) => m.text === "The parcel arrived damaged");
    expect(stored?.media).toMatchObject({ state: "downloaded", size: photo.length, mime_type: "image/png" });
  }, 60_000);

  it("a reply with an image and a template are sent, and their ticks go sent -> delivered -> read", async () => {
    await graph.control("config", { status_delays: { sent: 0.4, delivered: 1.4, read: 2.4 } });
    await recordStatuses(form);
    // A reply, chosen from the keyboard: the message focused, R.
    const question = drawer().locator("li.va-wa-msg", { hasText: "Is my order on its way?" });
    const questionName = (await question.getAttribute("data-name")) as string;
    await question.focus();
    await form.keyboard.press("r");
    await drawer().locator(".va-wa-reply-bar", { hasText: "Is my order on its way?" }).waitFor();
    expect(await form.evaluate(() => document.activeElement?.getAttribute("aria-label"))).toBe("Message");
    // The image: attached, captioned (the customer sees "typing…", asked once however many keys), Enter sends it.
    await drawer().locator("input.va-wa-file-input").setInputFiles({ name: "return-label.png", mimeType: "image/png", buffer: png(360, 240, [30, 160, 110], [250, 250, 210]) });
    await drawer().locator(".va-wa-attachment-bar", { hasText: "return-label.png" }).waitFor();
    await drawer().getByRole("textbox", { name: "Message" }).pressSequentially("Here is the return label");
    expect(site.calls.filter((c) => c.method === "typing")).toHaveLength(1);
    await drawer().getByRole("textbox", { name: "Message" }).press("Enter");
    const image = drawer().locator('li.va-wa-outbound[data-kind="image"]');
    await image.waitFor();
    const imageName = (await image.getAttribute("data-name")) as string;
    await poll(() => image.locator(".va-wa-ticks").getAttribute("data-ticks")).toBe("read");
    expect(await statusLog(form, imageName)).toEqual(["queued", "sent", "delivered", "read"]);
    expect(await image.locator("img").evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(360);
    expect(await image.locator(".va-wa-ticks").getAttribute("aria-label")).toBe("Read");
    const upload = site.calls.find((c) => c.method === "upload_file");
    // The user's own private file (a Voice Agent User may not write to the conversation); send_message attaches it to the message.
    expect(upload?.args).toMatchObject({ doctype: "", docname: "", is_private: "1", file_name: "return-label.png" });
    expect(site.calls.find((c) => c.method === "send_message" && c.args.kind === "media")?.args).toMatchObject({
      conversation: conv.ann,
      kind: "media",
      text: "Here is the return label",
      reply_to: questionName,
    });
    expect(await image.locator(".va-wa-quote").textContent()).toBe("Is my order on its way?");
    expect(await drawer().locator(".va-wa-reply-bar").isVisible()).toBe(false);
    const [graphImage] = await graphSent("image");
    const imagePayload = graphImage?.payload as { image: { caption: string; id: string }; context: { message_id: string } };
    expect(imagePayload.image.caption).toBe("Here is the return label");
    expect(imagePayload.context.message_id).toBe(site.messages(conv.ann as string).find((m) => m.name === questionName)?.wamid);
    const typing = (await graph.control("requests?path_contains=messages&method=POST", undefined, "GET")) as { body: { typing_indicator?: { type: string } } }[];
    expect(typing.filter((r) => r.body?.typing_indicator?.type === "text")).toHaveLength(1);

    // The template: required values enforced, the preview filled in as they are typed.
    await drawer().getByRole("button", { name: "Send a template" }).click();
    const dialog = form.getByRole("dialog", { name: "Send a template" });
    await dialog.getByLabel("Template", { exact: true }).selectOption({ label: "order_update · en_US · utility" });
    const previewText = dialog.locator('[data-ref="preview-text"]');
    expect(await previewText.textContent()).toBe("Hi {{1}}, your order {{2}} has shipped.");
    expect(await previewText.locator("mark").count()).toBe(2);
    await form.getByRole("button", { name: "Send template" }).click();
    expect(await dialog.locator(".va-wa-problem", { hasText: "Required" }).count()).toBe(2);
    expect(await dialog.getByLabel("Body {{1}}").getAttribute("aria-invalid")).toBe("true");
    expect(site.calls.some((c) => c.method === "send_message" && c.args.kind === "template")).toBe(false);
    await dialog.getByLabel("Body {{1}}").pressSequentially("Ann");
    expect(await previewText.textContent()).toBe("Hi Ann, your order {{2}} has shipped.");
    await dialog.getByLabel("Body {{2}}").fill("SO-0042");
    const preview = await previewText.textContent();
    expect(preview).toBe("Hi Ann, your order SO-0042 has shipped.");
    expect(await form.locator(".va-wa-tpl-status").textContent()).toBe("");
    await screenshot(ROOT, form, "whatsapp-template-picker");
    await form.getByRole("button", { name: "Send template" }).click();
    await dialog.waitFor({ state: "detached" });
    const template = drawer().locator('li.va-wa-outbound[data-kind="template"]');
    await template.waitFor();
    const templateName = (await template.getAttribute("data-name")) as string;
    // The text the server rendered (the app's templates.render) is the preview's.
    expect(await template.locator(".va-wa-text").textContent()).toBe(preview);
    expect(await template.locator(".va-wa-kind").textContent()).toBe("Template order_update (en_US)");
    await poll(() => template.locator(".va-wa-ticks").getAttribute("data-ticks")).toBe("read");
    expect(await statusLog(form, templateName)).toEqual(["queued", "sent", "delivered", "read"]);
    const [graphTemplate] = await graphSent("template");
    expect((graphTemplate?.payload as { template: unknown }).template).toEqual({
      name: "order_update",
      language: { code: "en_US" },
      components: [{ type: "body", parameters: [{ type: "text", text: "Ann" }, { type: "text", text: "SO-0042" }] }],
    });
    await graph.control("config", { status_delays: { sent: 0.02, delivered: 0.05, read: 0.08 } });
  }, 90_000);

  it("a Graph error (131026, undeliverable) shows its sentence on the message", async () => {
    await graph.control("recipient_failure", { wa_id: ANN, code: 131026 });
    const box = drawer().getByRole("textbox", { name: "Message" });
    await box.fill("Are you still there?");
    await box.press("Enter");
    // Cleared once send_message answered (queued); the text stays when the send is refused.
    await poll(() => box.inputValue()).toBe("");
    const failed = drawer().locator("li.va-wa-outbound", { hasText: "Are you still there?" });
    await poll(() => failed.getAttribute("data-status")).toBe("failed");
    const { message: sentence } = await python.call<{ message: string }>("describe", { code: 131026 });
    expect(sentence).toMatch(/^WhatsApp could not deliver this message/);
    expect(await failed.locator(".va-wa-error").textContent()).toBe(sentence);
    expect(await failed.locator(".va-wa-error").getAttribute("data-error-code")).toBe("131026");
    expect(await failed.locator(".va-wa-ticks").getAttribute("aria-label")).toBe("Not delivered");
    await poll(() => drawer().locator(".va-wa-conv:not([hidden]) > [role=status][aria-live]").textContent()).toBe(`Message not delivered: ${sentence}`);
    await graph.control("recipient_failure", { wa_id: ANN, code: null });
  }, 60_000);

  it("reply buttons go out, and the customer's choice comes back", async () => {
    await drawer().getByRole("button", { name: "Send buttons or a list" }).click();
    const dialog = form.getByRole("dialog", { name: "Send options" });
    await dialog.getByLabel("Message", { exact: true }).fill("Which day suits you for the new delivery?");
    await dialog.getByLabel("Option 1", { exact: true }).fill("Monday");
    await dialog.getByLabel("Option 2", { exact: true }).fill("A much too long button title");
    await form.getByRole("button", { name: "Send", exact: true }).last().click();
    expect(await dialog.locator('[data-problem="option-1"]').textContent()).toBe("At most 20 characters");
    await dialog.getByLabel("Option 2", { exact: true }).fill("Tuesday");
    await form.getByRole("dialog").getByRole("button", { name: "Send", exact: true }).click();
    await dialog.waitFor({ state: "detached" });
    const offer = drawer().locator('li.va-wa-outbound[data-kind="interactive"]');
    await poll(() => offer.locator(".va-wa-options li").allTextContents()).toEqual(["Monday", "Tuesday"]);
    await poll(() => offer.getAttribute("data-status")).toBe("read");
    const [graphButtons] = await graphSent("interactive");
    expect((graphButtons?.payload as { interactive: unknown }).interactive).toEqual({
      type: "button",
      body: { text: "Which day suits you for the new delivery?" },
      action: { buttons: [{ type: "reply", reply: { id: "1", title: "Monday" } }, { type: "reply", reply: { id: "2", title: "Tuesday" } }] },
    });
    const offered = site.messages(conv.ann as string).find((m) => m.kind === "interactive" && m.direction === "outbound");
    await graph.inbound("button_reply", { from: ANN, button_id: "2", title: "Tuesday", context_id: offered?.wamid }, "Ann Example");
    const choice = drawer().locator('li.va-wa-inbound[data-kind="interactive"]');
    await choice.waitFor();
    expect(await choice.locator(".va-wa-text").textContent()).toBe("Tuesday");
    expect(await choice.locator(".va-wa-quote").textContent()).toBe("Which day suits you for the new delivery?");
    await screenshot(ROOT, form, "whatsapp-panel-1280");
  }, 60_000);

  it("outside the 24-hour window only templates are offered; history pages back without duplicates", async () => {
    await openForm("Contact", "Cara Jones");
    const view = drawer().locator(".va-wa-conv");
    await view.locator("li.va-wa-msg").first().waitFor();
    expect(await view.locator(".va-wa-window").textContent()).toBe("Reply window: closed 5 h ago");
    expect(await view.getByRole("textbox", { name: "Message" }).isVisible()).toBe(false);
    const closed = view.locator('[data-ref="closed-window"]');
    expect(await closed.isVisible()).toBe(true);
    expect(await closed.textContent()).toContain(
      "More than 24 hours have passed since the customer last wrote: only a template can be sent until they write again.",
    );
    // Paging: 30 of 45 first; scrolling up to the start fetches the rest (a button does the same from the keyboard), each once.
    expect(await view.locator("li.va-wa-msg").count()).toBe(30);
    expect(await view.getByRole("button", { name: "Load earlier messages" }).count()).toBe(1);
    await view.locator(".va-wa-scroll").evaluate((el) => el.scrollTo({ top: 0 }));
    await poll(() => view.locator("li.va-wa-msg").count()).toBe(45);
    // The newest 30 came with the record's conversation list (one round trip to open the panel).
    expect(site.calls.filter((c) => c.method === "get_party_conversations" && c.args.party_name === "Cara Jones").map((c) => c.args.messages)).toEqual(["30"]);
    expect(site.calls.filter((c) => c.method === "get_messages" && c.args.conversation === conv.cara).map((c) => [c.args.before ?? null, c.args.limit])).toEqual([
      [site.messages(conv.cara as string)[15]?.name, "30"],
    ]);
    // What was on screen stays there: the first of the 30 is where it was, not pushed away.
    expect(await view.locator("li.va-wa-msg").nth(15).evaluate((el) => el.getBoundingClientRect().top > 0)).toBe(true);
    const names = await view.locator("li.va-wa-msg").evaluateAll((els) => els.map((el) => (el as HTMLElement).dataset.name));
    expect(new Set(names).size).toBe(45);
    expect(await view.locator("li.va-wa-msg .va-wa-text").first().textContent()).toBe("Message 1 about the spring order");
    expect(await view.getByText("Start of the conversation").isVisible()).toBe(true);
    await screenshot(ROOT, form, "whatsapp-window-closed");

    // The template picker, from the keyboard: Escape closes it and gives focus back.
    const choose = view.getByRole("button", { name: "Choose a template" });
    await choose.focus();
    await form.keyboard.press("Enter");
    const dialog = form.getByRole("dialog", { name: "Send a template" });
    await dialog.waitFor();
    expect(await dialog.locator(".va-wa-note").first().textContent()).toContain("More than 24 hours have passed");
    await form.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    expect(await choose.evaluate((el) => el === document.activeElement)).toBe(true);
    await form.keyboard.press("Enter");
    await dialog.getByLabel("Template", { exact: true }).selectOption({ label: "hello_world · en_US · utility" });
    expect(await dialog.getByText("This template has nothing to fill in.").isVisible()).toBe(true);
    await form.getByRole("button", { name: "Send template" }).click();
    const sent = view.locator('li.va-wa-outbound[data-kind="template"]');
    await poll(() => sent.locator(".va-wa-ticks").getAttribute("data-ticks")).toBe("read");
    expect(await sent.locator(".va-wa-text").textContent()).toBe(
      "Hello World\n\nWelcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API.\n\nWhatsApp Business Platform sample message",
    );
    expect(await view.getByRole("textbox", { name: "Message" }).isVisible()).toBe(false);
  }, 60_000);

  it("a record without a conversation starts one from a number, template first", async () => {
    await openForm("Lead", "CRM-LEAD-2026-00002");
    const start = drawer().locator("form.va-wa-start-box");
    await start.waitFor();
    expect(await start.textContent()).toContain("with Bob Builder on +16505550145");
    await screenshot(ROOT, form, "whatsapp-panel-start");
    await start.getByRole("button", { name: "Start with a template" }).click();
    const dialog = form.getByRole("dialog", { name: "Send a template" });
    await dialog.waitFor();
    const bob = site.conversationOf("Lead", "CRM-LEAD-2026-00002");
    expect(bob?.wa_id).toBe("16505550145");
    conv.bob = bob?.name as string;
    await form.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    const closed = drawer().locator('[data-ref="closed-window"]');
    expect(await closed.textContent()).toContain("The customer has not written to this number yet.");
    expect(await drawer().locator(".va-wa-window").textContent()).toBe("Reply window: not open (the customer has not written)");
    expect(await form.evaluate(() => document.activeElement?.textContent)).toBe("Choose a template");
  }, 30_000);

  it("the inbox filters, searches, assigns, and opens a conversation beside the list", async () => {
    await row(conv.ann as string).click();
    const view = inbox.locator(".va-wa-inbox-main .va-wa-conv");
    await poll(() => view.locator(".va-wa-conv-title").textContent()).toBe("Ann Example");
    await view.locator('li.va-wa-outbound[data-kind="template"]').waitFor();
    expect(await row(conv.ann as string).getAttribute("aria-current")).toBe("true");
    await view.getByRole("button", { name: "Assign to me" }).click();
    await poll(() => view.locator(".va-wa-assignee").textContent()).toBe("Assigned to you");
    await poll(() => inbox.locator('[data-filter="mine"] [data-count]').textContent()).toBe("1");
    expect(await row(conv.ann as string).locator(".va-wa-chip-assignee").textContent()).toBe("Me");
    expect(site.calls.find((c) => c.method === "assign_conversation")?.args).toEqual({ conversation: conv.ann, user: "agent@example.com" });

    await inbox.getByRole("button", { name: /^Assigned to me/ }).click();
    await poll(() => inbox.locator("button.va-wa-row").evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.conversation))).toEqual([conv.ann]);
    await inbox.getByRole("button", { name: /^Unassigned/ }).click();
    await poll(async () => (await inbox.locator("button.va-wa-row").evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.conversation))).sort()).toEqual(
      [conv.ann, conv.bob, conv.cara, conv.dan].sort(), // Ann stays while she is open
    );
    await inbox.getByRole("button", { name: /^All/ }).click();
    await inbox.getByRole("searchbox", { name: "Search conversations" }).fill("cara");
    await poll(() => inbox.locator("button.va-wa-row").evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.conversation))).toEqual([conv.cara]);
    expect(site.calls.filter((c) => c.method === "get_inbox").pop()?.args).toMatchObject({ filter: "all", search: "cara" });
    await inbox.getByRole("searchbox", { name: "Search conversations" }).fill("");
    await poll(() => inbox.locator("button.va-wa-row").count()).toBe(5);

    // Assign to… and Link to another record, on Eve's conversation: a refusal shows in the dialog, in the server's words.
    await row(conv.eve as string).click();
    await poll(() => view.locator(".va-wa-conv-title").textContent()).toBe("Eve Adams");
    expect(await view.locator(".va-wa-assignee").textContent()).toBe("Assigned to Casey Colleague");
    await view.getByRole("button", { name: "Assign to…" }).click();
    const assign = inbox.getByRole("dialog", { name: "Assign the conversation" });
    await assign.getByLabel("User").fill("stranger@example.com");
    await assign.getByRole("button", { name: "Assign", exact: true }).click();
    await poll(() => assign.locator(".va-wa-problem").textContent()).toBe("User stranger@example.com does not exist or is disabled.");
    await assign.getByLabel("User").fill("agent@example.com");
    await inbox.keyboard.press("Enter");
    await assign.waitFor({ state: "detached" });
    await poll(() => view.locator(".va-wa-assignee").textContent()).toBe("Assigned to you");
    await view.getByRole("button", { name: "Link to another record" }).click();
    const link = inbox.getByRole("dialog", { name: "Link the conversation to a record" });
    await link.getByLabel("Record type").selectOption("Customer");
    await link.getByLabel("Record", { exact: true }).fill("Nobody Ltd");
    await link.getByRole("button", { name: "Link", exact: true }).click();
    await poll(() => link.locator(".va-wa-problem").textContent()).toBe("Customer Nobody Ltd does not exist.");
    await link.getByLabel("Record", { exact: true }).fill("Dan's Deli");
    await link.getByRole("button", { name: "Link", exact: true }).click();
    await link.waitFor({ state: "detached" });
    await poll(() => view.locator(".va-wa-party").textContent()).toBe("Customer: Dan's Deli");
    expect(await row(conv.eve as string).locator(".va-wa-row-title").textContent()).toBe("Dan's Deli");
    // And back to Eve's Lead.
    await view.getByRole("button", { name: "Link to another record" }).click();
    await link.getByLabel("Record type").selectOption("Lead");
    await link.getByLabel("Record", { exact: true }).fill("CRM-LEAD-2026-00003");
    await inbox.keyboard.press("Enter");
    await link.waitFor({ state: "detached" });
    await poll(() => row(conv.eve as string).locator(".va-wa-row-title").textContent()).toBe("Eve Adams");
    expect(site.calls.filter((c) => c.method === "link_party" && c.status === 200).map((c) => c.args.party_name)).toEqual(["Dan's Deli", "CRM-LEAD-2026-00003"]);
    await row(conv.ann as string).click();
    await poll(() => view.locator(".va-wa-conv-title").textContent()).toBe("Ann Example");

    // Keyboard: Tab from the search box lands on the list (one stop), arrows move, focus is visible.
    await inbox.getByRole("searchbox", { name: "Search conversations" }).focus();
    await inbox.keyboard.press("Tab");
    const focused = () => inbox.evaluate(() => (document.activeElement as HTMLElement).dataset.conversation ?? null);
    const first = await focused();
    expect(first).not.toBeNull();
    expect(await inbox.evaluate(() => getComputedStyle(document.activeElement as Element).boxShadow)).not.toBe("none");
    await inbox.keyboard.press("ArrowDown");
    expect(await focused()).not.toBe(first);
    await screenshot(ROOT, inbox, "whatsapp-inbox-1280");
  }, 60_000);

  it("fits a phone-width desk (390 px) and the dark theme", async () => {
    await openForm("Lead", "CRM-LEAD-2026-00001");
    await form.setViewportSize({ width: 390, height: 844 });
    await drawer().locator('li.va-wa-outbound[data-kind="template"]').waitFor();
    const box = await drawer().boundingBox();
    expect(box?.width).toBe(390);
    expect(await form.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(ROOT, form, "whatsapp-panel-390");

    await inbox.setViewportSize({ width: 390, height: 844 });
    await inbox.reload();
    await poll(() => inbox.locator("button.va-wa-row").count()).toBe(5);
    expect(await inbox.locator(".va-wa-inbox-main").isVisible()).toBe(false);
    await screenshot(ROOT, inbox, "whatsapp-inbox-390");
    await row(conv.dan as string).click();
    const view = inbox.locator(".va-wa-inbox-main .va-wa-conv");
    await view.locator("li.va-wa-msg").first().waitFor();
    expect(await inbox.locator(".va-wa-inbox-side").isVisible()).toBe(false);
    expect(await inbox.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await poll(() => row(conv.dan as string).getAttribute("data-unread")).toBe("false");
    await screenshot(ROOT, inbox, "whatsapp-inbox-390-conversation");
    await view.getByRole("button", { name: "Back to the list" }).click();
    expect(await inbox.locator(".va-wa-inbox-side").isVisible()).toBe(true);
    expect(await inbox.evaluate(() => (document.activeElement as HTMLElement).dataset.conversation)).toBe(conv.dan);

    await inbox.setViewportSize({ width: 1280, height: 800 });
    await inbox.goto(`${site.origin}/app/whatsapp-inbox/${conv.ann}?theme=dark`);
    await inbox.locator('.va-wa-inbox-main li.va-wa-outbound[data-kind="image"] img').waitFor();
    expect(await inbox.locator(".va-wa-inbox-main .va-wa-conv-title").textContent()).toBe("Ann Example");
    await screenshot(ROOT, inbox, "whatsapp-inbox-dark");
  }, 60_000);

  it("left nothing behind: every answer and push matched the contract, no error anywhere", async () => {
    expect(site.contractErrors).toEqual([]);
    expect(site.webhookErrors).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(failedRequests).toEqual([]);
    // The only refusals are the two the inbox test asked for.
    expect(site.calls.filter((c) => c.status !== 200).map((c) => [c.method, c.status])).toEqual([
      ["assign_conversation", 417],
      ["link_party", 417],
    ]);
    // Every call was silent: the desk never had to show one of its own dialogs.
    expect(await form.evaluate(() => (window as unknown as { __msgprints: unknown[] }).__msgprints)).toEqual([]);
    expect(await inbox.evaluate(() => (window as unknown as { __msgprints: unknown[] }).__msgprints)).toEqual([]);
    const used = new Set(site.calls.map((c) => c.method));
    for (const m of ["get_party_conversations", "start_conversation", "get_messages", "get_inbox", "send_message", "mark_read", "assign_conversation", "get_templates", "upload_file"]) {
      expect(used.has(m), m).toBe(true);
    }
  });
});
