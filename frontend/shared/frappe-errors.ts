// Frappe's error shapes, without the HTTP client: desk bundles (which call through the desk's own
// frappe.call) use these without pulling in frappe-js-sdk and axios.

/** A failed whitelisted-method call, shaped from frappe-js-sdk's error object. */
export class FrappeCallError extends Error {
  override readonly name = "FrappeCallError";
  constructor(
    /** HTTP status; 0 when no response arrived (offline, DNS, CORS, timeout). */
    readonly status: number,
    /** Python exception class name, e.g. "frappe.exceptions.ValidationError". */
    readonly excType: string,
    /** The first user-facing message Frappe sent (`_server_messages`), if any. */
    readonly serverMessage: string,
  ) {
    super(serverMessage || `Request failed (HTTP ${status})`);
  }
}

/** `_server_messages` is a JSON list of JSON-encoded `{message}` objects (or strings). */
export function parseServerMessages(raw: unknown): string[] {
  if (typeof raw !== "string" || raw === "") return [];
  let outer: unknown;
  try {
    outer = JSON.parse(raw);
  } catch {
    return [];
  }
  if (!Array.isArray(outer)) return [];
  return outer.flatMap((item): string[] => {
    let parsed: unknown = item;
    if (typeof item === "string") {
      try {
        parsed = JSON.parse(item);
      } catch {
        parsed = item;
      }
    }
    const text =
      typeof parsed === "string"
        ? parsed
        : parsed !== null && typeof parsed === "object" && typeof (parsed as { message?: unknown }).message === "string"
          ? (parsed as { message: string }).message
          : "";
    const plain = stripTags(text).trim();
    return plain ? [plain] : [];
  });
}

function stripTags(html: string): string {
  return html.replace(/<[^>]*>/g, "");
}
