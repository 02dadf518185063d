export type WidgetPosition = "bottom-right" | "bottom-left";

export interface WidgetConfig {
  /** Origin of the Frappe site the script was loaded from; the only origin we talk to. */
  siteOrigin: string;
  profile: string;
  label: string;
  color: string;
  position: WidgetPosition;
  /** "popup" skips the overlay (for sites whose CSP forbids framing). */
  mode: "iframe" | "popup";
  context: Record<string, string>;
}

const PREFIX = "voiceAgentContext";
const DEFAULT_COLOR = "#2454d6";
const HEX_COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{4}|[0-9a-f]{6}|[0-9a-f]{8})$/i;
const NAMED_OR_FUNCTION_COLOR = /^(?:[a-z]+|(?:rgb|rgba|hsl|hsla)\([0-9.,%\s/]+\))$/i;

/** Colour values are put into CSS, so only plain colour syntax gets through. */
export function safeColor(value: string | undefined): string {
  const v = (value ?? "").trim();
  return HEX_COLOR.test(v) || NAMED_OR_FUNCTION_COLOR.test(v) ? v : DEFAULT_COLOR;
}

/** data-voice-agent-context-order-id="42" → { order_id: "42" } */
function contextKey(datasetKey: string): string {
  const rest = datasetKey.slice(PREFIX.length);
  return rest.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(/^_/, "");
}

export function readWidgetConfig(dataset: DOMStringMap, scriptSrc: string): WidgetConfig {
  const siteOrigin = new URL(scriptSrc).origin;
  const context: Record<string, string> = {};
  for (const [key, value] of Object.entries(dataset)) {
    if (key.startsWith(PREFIX) && key.length > PREFIX.length && value !== undefined) context[contextKey(key)] = value;
  }
  return {
    siteOrigin,
    profile: (dataset.voiceAgentProfile ?? "").trim(),
    label: (dataset.voiceAgentLabel ?? "").trim() || "Talk to us",
    color: safeColor(dataset.voiceAgentColor),
    position: dataset.voiceAgentPosition === "bottom-left" ? "bottom-left" : "bottom-right",
    mode: dataset.voiceAgentMode === "popup" ? "popup" : "iframe",
    context,
  };
}

export function pageUrl(config: WidgetConfig): string {
  const url = new URL("/voice-agent", config.siteOrigin);
  url.searchParams.set("embed", "1");
  if (config.profile) url.searchParams.set("profile", config.profile);
  return url.toString();
}
