import type { PublicProfile as PublicProfileAnswer, SessionGrant } from "../../contracts/frappe-api";

export type { SessionGrant };

/** A profile as the page shows it (get_public_profiles' answer with its nulls made empty). */
export type PublicProfile = { [K in keyof PublicProfileAnswer]: string };

export interface PortalConfig {
  profiles: PublicProfile[];
  /** Origins allowed to embed the page and send it context by postMessage. */
  allowedOrigins: string[];
  siteName: string;
  csrfToken: string;
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function toProfile(value: unknown): PublicProfile | null {
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  const name = str(v.name);
  if (!name) return null;
  return {
    name,
    title: str(v.title) || name,
    use_case: str(v.use_case),
    description: str(v.description),
    greeting: str(v.greeting),
  };
}

/** Reads the JSON the page template put in data-config; anything malformed is dropped, never trusted. */
export function parseConfig(raw: string | undefined): PortalConfig {
  let data: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(raw ?? "{}");
    if (typeof parsed === "object" && parsed !== null) data = parsed as Record<string, unknown>;
  } catch {
    data = {};
  }
  return {
    profiles: Array.isArray(data.profiles) ? data.profiles.map(toProfile).filter((p): p is PublicProfile => p !== null) : [],
    allowedOrigins: Array.isArray(data.allowedOrigins) ? data.allowedOrigins.filter((o): o is string => typeof o === "string") : [],
    siteName: str(data.siteName),
    csrfToken: str(data.csrfToken),
  };
}

/** The session grant must carry everything the page needs; a partial one is a server fault. */
export function parseGrant(value: unknown): SessionGrant | null {
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  const maxDuration = Number(v.max_duration_sec);
  if (!str(v.session_id) || !str(v.client_token) || !str(v.join_url) || !(maxDuration > 0)) return null;
  try {
    const url = new URL(str(v.join_url));
    if (url.protocol !== "wss:" && url.protocol !== "ws:") return null;
  } catch {
    return null;
  }
  return {
    session_id: str(v.session_id),
    client_token: str(v.client_token),
    join_url: str(v.join_url),
    max_duration_sec: maxDuration,
    profile_title: str(v.profile_title),
  };
}
