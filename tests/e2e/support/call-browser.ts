import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { ROOT } from "./call-harness";
import { CHROMIUM_PATH, chromiumArgs } from "./chromium";

export const SCREENSHOTS = join(ROOT, "artifacts/screenshots");

export interface CallBrowser {
  page: Page;
  close(): Promise<void>;
}

/** One Chromium per party (its own profile and fake microphone); micAllowed=false refuses the microphone prompt. */
export async function openParty({ micAllowed = true } = {}): Promise<CallBrowser> {
  const profile = mkdtempSync(join(tmpdir(), "va-call-chromium-"));
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: chromiumArgs({ micAllowed }),
    viewport: { width: 1100, height: 720 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface Counters {
  packetsReceived: number;
  packetsSent: number;
  activeInbound: number;
  iceRestartsRequested: number;
  iceRestarts: number;
}

export function counters(page: Page): Promise<Counters | null> {
  return page.evaluate(async () => {
    const ns = (window as unknown as { voice_agent?: { media_counters?: () => Promise<Counters | null> } }).voice_agent;
    return ns?.media_counters ? ns.media_counters() : null;
  });
}

/** Counters after `ms`, minus those before. */
export async function growth(page: Page, ms: number): Promise<Counters> {
  const before = await counters(page);
  await page.waitForTimeout(ms);
  const after = await counters(page);
  if (!before || !after) throw new Error("no call session on the page");
  return {
    packetsReceived: after.packetsReceived - before.packetsReceived,
    packetsSent: after.packetsSent - before.packetsSent,
    activeInbound: after.activeInbound,
    iceRestartsRequested: after.iceRestartsRequested,
    iceRestarts: after.iceRestarts,
  };
}

/**
 * Records every request of the page that failed or was answered with an error
 * status (a missing favicon, a bundle that 404s); a test expects it to stay empty.
 */
export function failedRequests(page: Page): string[] {
  const failed: string[] = [];
  page.on("requestfailed", (request) => {
    failed.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText ?? "failed"}`);
  });
  page.on("response", (response) => {
    if (response.status() >= 400) failed.push(`${response.request().method()} ${response.url()}: HTTP ${response.status()}`);
  });
  return failed;
}

/** The call panel's alert after the call ended: its text, and whether it is styled as an error. */
export async function panelEnding(page: Page): Promise<{ title: string | null; detail: string | null; isError: boolean }> {
  const alert = page.locator(".va-cp-alert");
  await alert.and(page.locator(":not([hidden])")).waitFor();
  return {
    title: await page.locator('[data-ref="alertTitle"]').textContent(),
    detail: await page.locator('[data-ref="alertDetail"]').textContent(),
    isError: ((await alert.getAttribute("class")) ?? "").split(/\s+/).includes("va-cp-alert-error"),
  };
}

export function panelStatus(page: Page): Promise<string | null> {
  return page.locator(".va-call-panel").getAttribute("data-status");
}

export async function waitStatus(page: Page, status: string, timeout = 15_000): Promise<void> {
  await page.locator(`.va-call-panel[data-status="${status}"]`).waitFor({ timeout });
}

export async function shot(page: Page, name: string, docsCopy?: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path });
  // docs/screenshots/ is refreshed on request only, so test runs leave the tree clean.
  if (docsCopy && process.env.VA_DOCS_SCREENSHOTS === "1") {
    mkdirSync(join(ROOT, "docs/screenshots"), { recursive: true });
    copyFileSync(path, join(ROOT, "docs/screenshots", `${docsCopy}.png`));
  }
  return path;
}

/** A call from the harness's Lead. */
export const LEAD_CALL = { reference_doctype: "Lead", reference_name: "CRM-LEAD-2026-00001", title: "Call Jane Doe" };

/** The harness desk page of `origin` with the call panel opened by the desk's own entry point. */
export async function openCallPanel(page: Page, origin: string, options: Record<string, unknown> = LEAD_CALL): Promise<void> {
  await page.goto(`${origin}/harness/desk.html`);
  await page.evaluate(
    (o) => (window as unknown as { voice_agent: { open_call_panel(o: object): unknown } }).voice_agent.open_call_panel(o),
    options,
  );
}
