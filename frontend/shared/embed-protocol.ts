/** Messages between the website widget (parent) and the embedded /voice-agent page. */

export const READY = "voice-agent:ready";
export const CONTEXT = "voice-agent:context";
/** Escape pressed inside the framed page (key events do not cross the frame). */
export const ESCAPE = "voice-agent:escape";

export interface EmbedContext {
  page_url: string;
  page_title: string;
  /** The widget's data-voice-agent-context-* attributes, as given. */
  data: Record<string, string>;
}

export type PageToWidget = { type: typeof READY } | { type: typeof ESCAPE };
export type WidgetToPage = { type: typeof CONTEXT; context: EmbedContext };

const MAX_FIELD = 2000;
const MAX_DATA_KEYS = 20;

export function normalizeOrigin(value: string): string | null {
  try {
    const url = new URL(value);
    if (url.protocol !== "https:" && url.protocol !== "http:") return null;
    return url.origin;
  } catch {
    return null;
  }
}

export function isAllowedOrigin(origin: string, allowed: readonly string[]): boolean {
  const normalized = normalizeOrigin(origin);
  return normalized !== null && allowed.some((a) => normalizeOrigin(a) === normalized);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Returns the context carried by a widget message, or null when the message is anything else or malformed. */
export function parseContextMessage(data: unknown): EmbedContext | null {
  if (!isRecord(data) || data.type !== CONTEXT || !isRecord(data.context)) return null;
  const { page_url, page_title, data: extra } = data.context;
  if (typeof page_url !== "string" || typeof page_title !== "string") return null;
  if (page_url.length > MAX_FIELD || page_title.length > MAX_FIELD) return null;
  if (normalizeOrigin(page_url) === null) return null;
  const clean: Record<string, string> = {};
  if (extra !== undefined) {
    if (!isRecord(extra)) return null;
    const entries = Object.entries(extra);
    if (entries.length > MAX_DATA_KEYS) return null;
    for (const [key, value] of entries) {
      if (typeof value !== "string" || value.length > MAX_FIELD || key.length > 100) return null;
      clean[key] = value;
    }
  }
  return { page_url, page_title, data: clean };
}

export function isPageMessage(data: unknown, type: PageToWidget["type"]): boolean {
  return isRecord(data) && data.type === type;
}
