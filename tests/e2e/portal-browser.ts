/// <reference types="node" />
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { ROOT } from "./portal-harness";

export const SCREENSHOTS = join(ROOT, "artifacts/screenshots");

const BASE_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-fake-device-for-media-stream",
  "--autoplay-policy=no-user-gesture-required",
];

/** withMicPrompt=false leaves out the fake-UI flag, so the permission prompt is refused as a user would. */
export function launch({ micAllowed = true } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.VA_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: micAllowed ? [...BASE_ARGS, "--use-fake-ui-for-media-stream"] : BASE_ARGS,
  });
}

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 375, height: 740 };

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
