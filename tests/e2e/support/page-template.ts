// Renders the public pages' real Jinja templates (voice_agent/www/*/index.html) as Frappe would, for
// the subset they use: {% include "voice_agent/…" %}, {% if name %}…{% endif %}, {{ name|e }} and {{ _("text")|e }}.
// Anything else, or a field the harness does not provide, fails the test so the templates cannot drift.
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The brand a harness page shows (what voice_agent.site_brand.add_brand_to_context puts in the context). */
export interface PageBrand {
  brand: string;
  brand_logo: string;
  brand_icon: string;
}

/** A logo served by the harnesses at a public file's address (BRAND_LOGO_URL). */
export const BRAND_LOGO_URL = "/files/brand-logo.svg";
export const BRAND_LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="96" height="32" viewBox="0 0 96 32">
<rect width="32" height="32" rx="8" fill="#0f766e"/><path d="M9 22 16 9l7 13z" fill="#fff"/>
<text x="38" y="22" font-family="sans-serif" font-size="15" font-weight="700" fill="#0f766e">LOGO</text></svg>`;

export function escapeHtml(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&#34;").replace(/'/g, "&#39;");
}

function field(context: Record<string, string>, name: string, file: string): string {
  const value = context[name];
  if (value === undefined) throw new Error(`${file} uses {{ ${name} }} which the harness does not provide`);
  return value;
}

/** `file` is relative to the repository root, as Frappe's template loader names app files. */
export function renderPage(root: string, file: string, context: Record<string, string>): string {
  let html = readFileSync(join(root, file), "utf8");
  html = html.replace(/\{%\s*include\s+"(voice_agent\/[\w./-]+)"\s*%\}/g, (_, path: string) => renderPage(root, path, context));
  html = html.replace(/\{%\s*if\s+(\w+)\s*%\}([\s\S]*?)\{%\s*endif\s*%\}/g, (_, name: string, body: string) =>
    field(context, name, file) ? body : "",
  );
  html = html.replace(/\{\{\s*(\w+)\|e\s*\}\}/g, (_, name: string) => escapeHtml(field(context, name, file)));
  // Frappe's `_()` with no translation for the site's language: the English text.
  html = html.replace(/\{\{\s*_\("((?:[^"\\]|\\.)*)"\)\|e\s*\}\}/g, (_, text: string) => escapeHtml(text.replace(/\\(.)/g, "$1")));
  if (/\{\{|\{%/.test(html)) throw new Error(`${file} uses Jinja beyond include, if, {{ name|e }} and {{ _("text")|e }}: extend the harness renderer`);
  return html;
}
