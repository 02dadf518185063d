/// <reference types="node" />
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { DESKTOP, PHONE, launch, screenshot } from "./portal-browser";
import { PROFILES, SITE_BRAND, startFakeSite, startFakeUltravox, type FakeSite, type FakeUltravox, type HarnessProfile } from "./portal-harness";

let ultravox: FakeUltravox;
let site: FakeSite;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  ultravox = await startFakeUltravox();
  site = await startFakeSite(ultravox.url);
  browser = await launch();
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await site?.stop();
  await ultravox?.stop();
});

afterEach(async () => {
  await context?.close();
  site.mode = "ok";
  site.maxDurationSec = 300;
  site.createDelayMs = 0;
  site.calls.length = 0;
  site.profiles = PROFILES;
  await ultravox.setJoinMode("ok");
});

async function open(viewport = DESKTOP, query = ""): Promise<Page> {
  context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${site.origin}/voice-agent${query}`);
  await page.locator(".va-card").first().waitFor();
  return page;
}

const status = (page: Page) => page.locator("#va-status");
const alert = (page: Page) => page.locator("#va-alert");

async function expectAlert(page: Page, kind: string, title: RegExp): Promise<void> {
  await alert(page).and(page.locator(`[data-kind="${kind}"]`)).waitFor({ timeout: 10_000 });
  expect(await page.locator("#va-alert-title").textContent()).toMatch(title);
  expect(((await page.locator("#va-alert-detail").textContent()) ?? "").length).toBeGreaterThan(20);
}

describe("/voice-agent page", () => {
  it("lists the public profiles, preselects the one in the URL and starts idle", async () => {
    const page = await open(DESKTOP, "?profile=VAP-0002");
    expect(await page.locator(".va-card-title").allTextContents()).toEqual(["Book an appointment", "Order food", "Get support"]);
    expect(await page.locator('input[name="va-profile"]:checked').getAttribute("value")).toBe("VAP-0002");
    expect(await status(page).textContent()).toBe("Ready");
    expect(await page.locator("#va-mute-mic").isDisabled()).toBe(true);
    expect(await alert(page).isHidden()).toBe(true);
    await screenshot(page, "desktop-idle");
  });

  it("connects through create_session and the fake's join socket, then ends on request", async () => {
    const page = await open();
    await page.locator("#va-start").click();
    await page.locator('#va-status:text-is("Connecting…")').waitFor();
    const [create] = site.callsTo("create_session");
    expect(create?.args).toMatchObject({ profile: "VAP-0001", page_url: `${site.origin}/voice-agent` });
    expect(await page.locator("#va-mute-mic").isEnabled()).toBe(true);
    expect(await page.locator("#va-end").isVisible()).toBe(true);
    expect(await page.locator("#va-start").isHidden()).toBe(true);
    expect(await page.locator("#va-timer").textContent()).toMatch(/^0:0\d \/ 5:00$/);

    await page.locator("#va-mute-mic").click();
    expect(await page.locator("#va-mute-mic").getAttribute("aria-pressed")).toBe("true");
    expect(await page.locator("#va-mute-mic").textContent()).toBe("Unmute microphone");
    await page.locator("#va-mute-speaker").click();
    expect(await page.locator("#va-mute-speaker").getAttribute("aria-pressed")).toBe("true");
    await screenshot(page, "desktop-connecting");
    // The status report is debounced: wait for it while the call is still connecting.
    await expect.poll(() => site.callsTo("update_session_status").map((c) => c.args.status)).toContain("connecting");

    await page.locator("#va-end").click();
    await expectAlert(page, "call_ended", /Conversation ended/);
    expect(await status(page).textContent()).toBe("Conversation ended");
    expect(await page.locator("#va-start").textContent()).toBe("Start again");
    await expect.poll(() => site.callsTo("end_session").length).toBe(1);
    expect(site.callsTo("end_session")[0]?.args).toEqual({ session_id: "VS-00001", client_token: "client-token-1" });
  });

  it("End while the session is being created hangs that session up", async () => {
    site.createDelayMs = 1500;
    const page = await open();
    await page.locator("#va-start").click();
    await page.locator('#va-status:text-is("Starting the conversation…")').waitFor();
    await page.locator("#va-end").click();
    await expectAlert(page, "call_ended", /Conversation ended/);
    await expect.poll(() => site.callsTo("end_session").length, { timeout: 5000 }).toBe(1);
    expect(site.callsTo("end_session")[0]?.args.session_id).toMatch(/^VS-\d{5}$/);
    expect(site.callsTo("create_session")).toHaveLength(1);
    expect(await status(page).textContent()).toBe("Conversation ended");
  });

  it("ends the call itself when the maximum duration is reached", async () => {
    site.maxDurationSec = 2;
    const page = await open();
    await page.locator("#va-start").click();
    await page.locator('#va-status:text-is("Connecting…")').waitFor();
    await expectAlert(page, "call_ended", /Conversation ended/);
    await expect.poll(() => site.callsTo("end_session").length).toBe(1);
  });

  it.each([
    ["dead_room", "the media room cannot be reached"],
    ["ended", "the call is already over"],
    ["reject", "the join socket is refused"],
  ] as const)("reports a lost connection when %s (%s)", async (wsMode, _why) => {
    await ultravox.setJoinMode(wsMode, 1);
    const page = await open();
    await page.locator("#va-start").click();
    await expectAlert(page, "connection_lost", /Connection lost/);
    expect(await status(page).textContent()).toBe("Not connected");
    expect(await page.locator("#va-indicator").getAttribute("data-state")).toBe("error");
    expect(await page.locator("#va-start").isVisible()).toBe(true);
    if (wsMode === "dead_room") await screenshot(page, "desktop-error-connection-lost");
  });

  it.each([
    ["429", "rate_limited", /Too many attempts/],
    ["503", "service_busy", /busy/],
    ["502", "agent_unavailable", /Voice service unavailable/],
    ["403", "origin_refused", /Not available on this website/],
    ["417", "invalid_request", /Could not start/],
  ] as const)("create_session HTTP %s shows %s", async (mode, kind, title) => {
    site.mode = mode;
    const page = await open();
    await page.locator("#va-start").click();
    await expectAlert(page, kind, title);
    expect(await page.locator("#va-mute-mic").isDisabled()).toBe(true);
    if (mode === "503") {
      expect(await page.locator("#va-alert-detail").textContent()).toBe("All our assistants are busy right now. Please try again in a minute.");
    }
    if (mode === "429") {
      expect(await page.locator("#va-alert-detail").textContent()).not.toContain("sometime");
      await screenshot(page, "desktop-error-rate-limited");
    }
  });

  it("says when the server cannot be reached", async () => {
    const page = await open();
    await context.route("**/api/method/**", (route) => route.abort("internetdisconnected"));
    await page.locator("#va-start").click();
    await expectAlert(page, "network", /No connection/);
  });

  it("works at phone width without sideways scrolling", async () => {
    site.mode = "503";
    const page = await open(PHONE);
    await screenshot(page, "phone-idle");
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(await overflow()).toBe(0);
    const start = await page.locator("#va-start").boundingBox();
    expect(start?.width ?? 0).toBeGreaterThan(300);
    expect(start?.height ?? 0).toBeGreaterThanOrEqual(44);
    await page.locator("#va-start").click();
    await expectAlert(page, "service_busy", /busy/);
    expect(await overflow()).toBe(0);
    await screenshot(page, "phone-error-busy");
  });

  it("phone width while connecting", async () => {
    const page = await open(PHONE);
    await page.locator("#va-start").click();
    await page.locator('#va-status:text-is("Connecting…")').waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
    await screenshot(page, "phone-connecting");
    await page.locator("#va-end").click();
    await expectAlert(page, "call_ended", /Conversation ended/);
  });

  it("is usable by keyboard: profiles, then Start; visible focus; status announced politely", async () => {
    const page = await open();
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => (document.activeElement as HTMLInputElement).value)).toBe("VAP-0001");
    await page.keyboard.press("ArrowRight");
    expect(await page.evaluate(() => (document.activeElement as HTMLInputElement).value)).toBe("VAP-0002");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("va-start");
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle);
    expect(outline).not.toBe("none");
    expect(await status(page).getAttribute("aria-live")).toBe("polite");
    expect(await page.locator("#va-transcript").getAttribute("aria-live")).toBe("polite");

    await page.keyboard.press("Enter");
    await page.locator('#va-status:text-is("Connecting…")').waitFor();
    expect(site.callsTo("create_session")[0]?.args.profile).toBe("VAP-0002");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("va-end");
    await page.keyboard.press("Enter");
    await expectAlert(page, "call_ended", /Conversation ended/);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("va-start");
  });
});

describe("/voice-agent brand", () => {
  it("shows the company's name and logo, in the tab title and as the favicon too", async () => {
    const page = await open();
    const brand = page.locator("header.va-header .va-brand");
    expect(await brand.locator(".va-brand-name").textContent()).toBe(SITE_BRAND.brand);
    const logo = brand.locator("img.va-brand-logo");
    expect(await logo.getAttribute("src")).toBe(SITE_BRAND.brand_logo);
    await expect.poll(() => logo.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    expect((await logo.boundingBox())?.height).toBe(32);
    expect(await page.title()).toBe(`Talk to our assistant – ${SITE_BRAND.brand}`);
    const icon = await page.locator('link[rel="icon"]').getAttribute("href");
    expect(icon).toBe(SITE_BRAND.brand_icon);
    expect((await fetch(new URL(icon ?? "", site.origin))).headers.get("content-type")).toBe("image/svg+xml");
  });
});

const TOPICS = [
  "Book an appointment", "Order food", "Get support", "Track an order", "Return an item", "Opening hours",
  "Pay an invoice", "Change a booking", "Talk about a quote", "Report a fault", "Gift cards", "Delivery areas",
  "Catering for events", "Jobs at our company",
];
const MANY: HarnessProfile[] = TOPICS.map((title, i) => ({
  name: `VAP-${String(i + 1).padStart(4, "0")}`,
  title,
  use_case: i % 3 === 0 ? "appointment" : "support",
  description: `Everything about ${title.toLowerCase()}.`,
  greeting: "Hello!",
}));

describe("/voice-agent with many profiles", () => {
  const inView = (page: Page, value: string) =>
    page.locator(`input[name="va-profile"][value="${value}"]`).evaluate((input) => {
      const card = (input.closest(".va-card") as HTMLElement).getBoundingClientRect();
      return card.top >= 0 && card.bottom <= window.innerHeight;
    });

  it("shows every profile on the page itself, no inner scroll box; the last one is reached by keyboard", async () => {
    site.profiles = MANY;
    const page = await open();
    expect(await page.locator(".va-card-title").allTextContents()).toEqual(TOPICS);
    const list = await page.locator("#va-profiles").evaluate((el) => ({
      overflowY: getComputedStyle(el).overflowY,
      clipped: el.scrollHeight - el.clientHeight,
      maxHeight: getComputedStyle(el).maxHeight,
    }));
    expect(list).toEqual({ overflowY: "visible", clipped: 0, maxHeight: "none" });
    const last = MANY[MANY.length - 1]!.name;
    expect(await inView(page, last)).toBe(false);
    await screenshot(page, "desktop-many-profiles");

    // Arrow keys move through the radio group (from the first, Up wraps to the last); the page scrolls to it.
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => (document.activeElement as HTMLInputElement).value)).toBe("VAP-0001");
    await page.keyboard.press("ArrowUp");
    expect(await page.evaluate(() => (document.activeElement as HTMLInputElement).value)).toBe(last);
    expect(await page.locator('input[name="va-profile"]:checked').getAttribute("value")).toBe(last);
    expect(await page.evaluate(() => window.scrollY)).toBeGreaterThan(0);
    expect(await inView(page, last)).toBe(true);

    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("va-start");
    await page.keyboard.press("Enter");
    await page.locator('#va-status:text-is("Connecting…")').waitFor();
    expect(site.callsTo("create_session")[0]?.args.profile).toBe(last);
    await page.locator("#va-end").click();
    await expectAlert(page, "call_ended", /Conversation ended/);
  });

  it("scrolls the page to a profile chosen by the link", async () => {
    site.profiles = MANY;
    const page = await open(DESKTOP, `?profile=${MANY[12]!.name}`);
    expect(await page.locator('input[name="va-profile"]:checked').getAttribute("value")).toBe(MANY[12]!.name);
    expect(await inView(page, MANY[12]!.name)).toBe(true);
  });

  it("at phone width: one column, no sideways scrolling, every profile below the other", async () => {
    site.profiles = MANY;
    const page = await open(PHONE);
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
    const lefts = await page.locator(".va-card").evaluateAll((cards) => new Set(cards.map((c) => c.getBoundingClientRect().left)).size);
    expect(lefts).toBe(1);
    expect(await page.locator("#va-profiles").evaluate((el) => el.scrollHeight - el.clientHeight)).toBe(0);
    await screenshot(page, "phone-many-profiles");
  });
});

describe("/voice-agent without microphone permission", () => {
  it("explains that the microphone is blocked and creates no session", async () => {
    const denied = await launch({ micAllowed: false });
    try {
      const ctx = await denied.newContext({ viewport: DESKTOP });
      const page = await ctx.newPage();
      await page.goto(`${site.origin}/voice-agent`);
      await page.locator("#va-start").click();
      await expectAlert(page, "mic_denied", /Microphone blocked/);
      expect(site.callsTo("create_session")).toHaveLength(0);
      await screenshot(page, "desktop-error-mic-denied");
    } finally {
      await denied.close();
    }
  });
});
