/// <reference types="node" />
import { createServer, type Server } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Frame, Page } from "playwright-core";
import { DESKTOP, PHONE, launch, screenshot } from "./portal-browser";
import { freePort, hostPage, startFakeSite, startFakeUltravox, type FakeSite, type FakeUltravox } from "./portal-harness";

let ultravox: FakeUltravox;
let site: FakeSite;
let browser: Browser;
let context: BrowserContext;
let stranger: Server;
/** A website that is not in the allow-list. */
let strangerOrigin: string;

function strangerPages(siteOrigin: string) {
  return (path: string): string | null => {
    if (path === "/frame.html") {
      // Frames the page and pushes a context at it, as a hostile site would.
      return `<!doctype html><title>Stranger</title><script>window.received = [];
addEventListener("message", (e) => window.received.push(e.data));</script>
<iframe id="f" allow="microphone" style="width:420px;height:700px" src="${siteOrigin}/voice-agent?embed=1"></iframe>
<script>document.getElementById("f").addEventListener("load", () => {
  const ctx = { type: "voice-agent:context", context: { page_url: location.href, page_title: "Stranger", data: { x: "1" } } };
  for (let i = 0; i < 5; i++) setTimeout(() => document.getElementById("f").contentWindow.postMessage(ctx, "*"), i * 100);
});</script>`;
    }
    if (path === "/spoof-ready.html") {
      // Loaded inside the customer's page: pretends to be the voice-agent page asking for context.
      return `<!doctype html><title>Spoof</title><script>window.received = [];
addEventListener("message", (e) => window.received.push(e.data));
parent.postMessage({ type: "voice-agent:ready" }, "*");
parent.postMessage({ type: "voice-agent:escape" }, "*");</script>`;
    }
    if (path === "/host.html") return hostPage(siteOrigin, "iframe");
    return null;
  };
}

beforeAll(async () => {
  ultravox = await startFakeUltravox();
  site = await startFakeSite(ultravox.url);
  const port = await freePort();
  strangerOrigin = `http://localhost:${port}`;
  const pages = strangerPages(site.origin);
  stranger = createServer((req, res) => {
    const body = pages(new URL(req.url ?? "/", strangerOrigin).pathname);
    if (body === null) res.writeHead(404).end();
    else res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(body);
  });
  await new Promise<void>((r) => stranger.listen(port, "127.0.0.1", r));
  browser = await launch();
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => stranger?.close(r));
  await site?.stop();
  await ultravox?.stop();
});

afterEach(async () => {
  await context?.close();
  site.calls.length = 0;
});

async function openHost(viewport = DESKTOP, url = `${site.embedderOrigin}/host.html`): Promise<Page> {
  context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(url);
  await page.getByRole("button", { name: "Talk to us" }).waitFor();
  return page;
}

const launcher = (page: Page) => page.getByRole("button", { name: "Talk to us" });
const dialog = (page: Page) => page.getByRole("dialog", { name: "Talk to us" });
const activeInShadow = (page: Page) =>
  page.evaluate(() => {
    const host = document.querySelector("[data-voice-agent-widget]");
    const el = host?.shadowRoot?.activeElement;
    return el ? `${el.tagName.toLowerCase()}.${el.className}` : null;
  });

async function voiceFrame(page: Page): Promise<Frame> {
  const handle = await page.locator("iframe").elementHandle();
  const frame = await handle?.contentFrame();
  if (!frame) throw new Error("no voice-agent frame");
  await frame.locator(".va-card").first().waitFor();
  return frame;
}

describe("website widget", () => {
  it("adds one accessible button that opens the page in a framed dialog and passes the page context", async () => {
    const page = await openHost();
    expect(await launcher(page).getAttribute("aria-haspopup")).toBe("dialog");
    await screenshot(page, "widget-closed");
    await launcher(page).click();
    await dialog(page).waitFor();
    expect(await dialog(page).getAttribute("aria-modal")).toBe("true");
    expect(await activeInShadow(page)).toBe("button.close");
    const iframe = page.locator("iframe");
    expect(await iframe.getAttribute("src")).toBe(`${site.origin}/voice-agent?embed=1&profile=VAP-0002`);
    expect(await iframe.getAttribute("allow")).toContain("microphone");

    const frame = await voiceFrame(page);
    expect(await frame.locator("body").getAttribute("class")).toContain("va-embed");
    expect(await frame.locator('input[name="va-profile"]:checked').getAttribute("value")).toBe("VAP-0002");
    await expect.poll(() => frame.locator("#va-app").getAttribute("data-embed-origin")).toBe(site.embedderOrigin);
    await frame.locator("#va-start").click();
    await frame.locator('#va-status:text-is("Connecting…")').waitFor();
    expect(site.callsTo("create_session")[0]?.args).toEqual({
      profile: "VAP-0002",
      page_url: `${site.embedderOrigin}/host.html`,
      context: { page_title: "Shop home", order_ref: "A-42", source: "widget" },
    });
    await screenshot(page, "widget-open");

    // Tab stays inside the dialog: back from the close button into the frame, forward past the frame to the close button.
    await page.getByRole("button", { name: "Close" }).focus();
    await page.keyboard.press("Shift+Tab");
    expect(await activeInShadow(page)).toBe("iframe.");
    await page.evaluate(() => {
      const guards = document.querySelector("[data-voice-agent-widget]")?.shadowRoot?.querySelectorAll<HTMLElement>("span[tabindex='0']");
      guards?.[guards.length - 1]?.focus();
    });
    expect(await activeInShadow(page)).toBe("button.close");
    expect(await launcher(page).evaluate((el) => (el as HTMLButtonElement).inert)).toBe(true);

    await page.getByRole("button", { name: "Close" }).click();
    expect(await dialog(page).isHidden()).toBe(true);
    expect(await page.locator("iframe").count()).toBe(0);
    expect(await activeInShadow(page)).toBe("button.launcher");
    expect(await launcher(page).getAttribute("aria-expanded")).toBe("false");
  });

  it("Escape closes the dialog from the host page and from inside the frame; focus returns to the button", async () => {
    const page = await openHost();
    await launcher(page).click();
    await dialog(page).waitFor();
    await page.keyboard.press("Escape");
    expect(await dialog(page).isHidden()).toBe(true);
    expect(await activeInShadow(page)).toBe("button.launcher");

    await page.keyboard.press("Enter");
    const frame = await voiceFrame(page);
    await expect.poll(() => frame.locator("#va-app").getAttribute("data-embed-origin")).toBe(site.embedderOrigin);
    await frame.locator("#va-start").focus();
    await frame.locator("#va-start").press("Escape");
    await dialog(page).waitFor({ state: "hidden" });
    expect(await activeInShadow(page)).toBe("button.launcher");
  });

  it("fills the screen at phone width", async () => {
    const page = await openHost(PHONE);
    await launcher(page).click();
    await voiceFrame(page);
    const box = await page.locator("iframe").boundingBox();
    expect(box?.width).toBe(375);
    await screenshot(page, "widget-open-phone");
  });

  it("ignores messages from an origin that is not the Frappe site", async () => {
    const page = await openHost();
    await launcher(page).click();
    await voiceFrame(page);
    await page.evaluate((src) => {
      const spoof = document.createElement("iframe");
      spoof.src = src;
      document.body.append(spoof);
    }, `${strangerOrigin}/spoof-ready.html`);
    await page.waitForTimeout(1000);
    const spoof = page.frames().find((f) => f.url().startsWith(strangerOrigin));
    expect(await spoof?.evaluate(() => (window as unknown as { received: unknown[] }).received)).toEqual([]);
    expect(await dialog(page).isVisible()).toBe(true);
  });

  it("the page ignores context from a website outside the allow-list and never announces itself to it", async () => {
    context = await browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    await page.goto(`${strangerOrigin}/frame.html`);
    const frame = await voiceFrame(page);
    await page.waitForTimeout(800);
    expect(await frame.locator("#va-app").getAttribute("data-embed-origin")).toBeNull();
    await frame.locator("#va-start").click();
    await frame.locator('#va-status:text-is("Connecting…")').waitFor();
    expect(site.callsTo("create_session")[0]?.args).toMatchObject({ page_url: `${site.origin}/voice-agent?embed=1`, context: {} });
    expect(await page.evaluate(() => (window as unknown as { received: unknown[] }).received)).toEqual([]);
  });

  it("offers a new window when the page cannot run inside the frame", async () => {
    const page = await openHost(DESKTOP, `${strangerOrigin}/host.html`);
    await launcher(page).click();
    const openWindow = page.getByRole("button", { name: "Open in a new window" });
    await openWindow.waitFor({ timeout: 15_000 });
    expect(await page.locator("iframe").count()).toBe(0);
    await screenshot(page, "widget-fallback");
    const [popup] = await Promise.all([context.waitForEvent("page"), openWindow.click()]);
    await popup.waitForLoadState();
    expect(popup.url()).toBe(`${site.origin}/voice-agent?embed=1&profile=VAP-0002`);
    expect(await dialog(page).isHidden()).toBe(true);
  }, 30_000);

  it("popup mode passes the context to the opened window", async () => {
    const page = await openHost(DESKTOP, `${site.embedderOrigin}/host.html?mode=popup`);
    const [popup] = await Promise.all([context.waitForEvent("page"), launcher(page).click()]);
    await popup.locator(".va-card").first().waitFor();
    await expect.poll(() => popup.locator("#va-app").getAttribute("data-embed-origin")).toBe(site.embedderOrigin);
    await popup.locator("#va-start").click();
    await popup.locator('#va-status:text-is("Connecting…")').waitFor();
    expect(site.callsTo("create_session")[0]?.args.page_url).toBe(`${site.embedderOrigin}/host.html?mode=popup`);
  });
});
