// The customer's invite page (/call) speaks for the company as /voice-agent does: its name and
// logo in the header, the tab title and the favicon, never the framework's name.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openParty, shot, type CallBrowser } from "./support/call-browser";
import { INVITE_BRAND, startFakeFrappe, startSidecar, type FakeFrappe, type RunningSidecar } from "./support/call-harness";

let sidecar: RunningSidecar;
let frappe: FakeFrappe;
let party: CallBrowser;

beforeAll(async () => {
  sidecar = await startSidecar();
  frappe = await startFakeFrappe(sidecar);
  party = await openParty();
}, 30_000);

afterAll(async () => {
  await party?.close();
  await frappe?.stop();
  expect(await sidecar?.stop()).toBe(0);
}, 30_000);

describe("invite page brand", () => {
  it("shows the company's name and logo, in the tab title and as the favicon; nothing says Frappe", async () => {
    const page = party.page;
    await page.goto(`${frappe.origin}/call?invite=${"0a1b2c3d".repeat(4)}`);
    const brand = page.locator("header.va-header .va-brand");
    expect(await brand.locator(".va-brand-name").textContent()).toBe(INVITE_BRAND.brand);
    const logo = brand.locator("img.va-brand-logo");
    expect(await logo.getAttribute("src")).toBe(INVITE_BRAND.brand_logo);
    await expect.poll(() => logo.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    expect((await logo.boundingBox())?.height).toBe(32);
    // The brand line looks as on /voice-agent (frontend/shared/brand.css).
    expect(await brand.evaluate((el) => [getComputedStyle(el).textTransform, getComputedStyle(el).color])).toEqual([
      "uppercase",
      "rgb(36, 84, 214)",
    ]);
    expect(await page.title()).toBe(`Join the call – ${INVITE_BRAND.brand}`);
    const icon = await page.locator('link[rel="icon"]').getAttribute("href");
    expect(icon).toBe(INVITE_BRAND.brand_icon);
    expect((await fetch(new URL(icon ?? "", frappe.origin))).headers.get("content-type")).toBe("image/svg+xml");
    expect(await page.evaluate(() => document.body.innerText)).not.toMatch(/frappe/i);
    expect(await page.getByRole("button", { name: "Join call" }).isVisible()).toBe(true);
    await shot(page, "call-invite-brand");
  });
});
