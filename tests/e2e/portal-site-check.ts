/// <reference types="node" />
// Not CI: loads /voice-agent on the real Frappe site (VA_SITE_URL, default http://127.0.0.1:8000),
// points Voice Agent Settings at a fresh python fake Ultravox (tests/bench/site_setup.configure),
// starts a session from the page, screenshots it, ends it.
//   source scripts/lib.sh && va_ensure_node && va_ensure_python
//   npx esbuild tests/e2e/portal-site-check.ts --bundle --platform=node --format=esm --packages=external --outfile=artifacts/portal-site-check.mjs
//   node artifacts/portal-site-check.mjs [docs/screenshots/portal-on-site.png]
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { DESKTOP, launch } from "./portal-browser";
import { ROOT, startFakeUltravox } from "./portal-harness";

const SITE = process.env.VA_SITE_URL ?? "http://127.0.0.1:8000";
const out = process.argv[2] ?? join(ROOT, "artifacts/screenshots/portal-on-site.png");
const apiKey = "test-key";

const ultravox = await startFakeUltravox();
const browser = await launch();
let failed = false;
try {
  execFileSync(
    join(ROOT, ".venv/bin/python"),
    ["-c", `from tests.bench.site_setup import admin_session, configure; configure(admin_session(), ${JSON.stringify(ultravox.url)}, ${JSON.stringify(apiKey)})`],
    { cwd: ROOT, env: { ...process.env, VA_SITE_URL: SITE }, stdio: "inherit" },
  );
  const page = await (await browser.newContext({ viewport: DESKTOP })).newPage();
  page.on("console", (m) => m.type() === "error" && console.log(`console: ${m.text()}`));
  page.on("response", (r) => r.status() >= 400 && console.log(`HTTP ${r.status()} ${r.url()}`));
  await page.goto(`${SITE}/voice-agent?profile=${encodeURIComponent("Front Desk (check)")}`);
  await page.locator(".va-card").first().waitFor();
  console.log(`profiles: ${(await page.locator(".va-card-title").allTextContents()).join(", ")}`);
  const created = page.waitForResponse((r) => r.url().includes("voice_processor.create_session"));
  await page.locator("#va-start").click();
  const response = await created;
  const body = (await response.json()) as { message?: { session_id?: string; join_url?: string } };
  console.log(`create_session: HTTP ${response.status()} session ${body.message?.session_id} join ${body.message?.join_url}`);
  await page.locator('#va-status:text-is("Connecting…")').waitFor({ timeout: 10_000 });
  console.log(`status: ${await page.locator("#va-status").textContent()}`);
  // The site may hold many public profiles (test runs leave some): show the call panel.
  await page.locator(".va-call").evaluate((el) => el.scrollIntoView({ block: "end" }));
  await page.screenshot({ path: out });
  console.log(`screenshot: ${out}`);
  const ended = page.waitForResponse((r) => r.url().includes("voice_processor.end_session"));
  await page.locator("#va-end").click();
  console.log(`end_session: HTTP ${(await ended).status()} ${await (await ended).text()}`);
  console.log(`after End: ${await page.locator("#va-alert-title").textContent()}`);
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  await browser.close();
  await ultravox.stop();
}
process.exit(failed ? 1 : 0);
