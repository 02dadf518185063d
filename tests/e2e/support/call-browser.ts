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
