// `whatsapp_update` from Frappe's socket.io (frappe.realtime), to each user who may see the
// conversation (never to a document room, which anyone who may read the record joins); the views'
// merges absorb an update that arrives twice.
import type { WhatsAppUpdate } from "../core/types";

export const REALTIME_EVENT = "whatsapp_update";

interface Realtime {
  on(event: string, handler: (data: unknown) => void): void;
  off?(event: string, handler: (data: unknown) => void): void;
}

function realtime(): Realtime | undefined {
  return (globalThis as { frappe?: { realtime?: Realtime } }).frappe?.realtime;
}

function isUpdate(data: unknown): data is WhatsAppUpdate {
  if (!data || typeof data !== "object") return false;
  const d = data as Partial<WhatsAppUpdate>;
  return (d.kind === "message" || d.kind === "status" || d.kind === "conversation") && typeof d.conversation?.name === "string";
}

/** Listens until the returned function is called. */
export function onWhatsAppUpdate(handler: (update: WhatsAppUpdate) => void): () => void {
  const rt = realtime();
  if (!rt) return () => undefined;
  const listener = (data: unknown): void => {
    if (isUpdate(data)) handler(data);
  };
  rt.on(REALTIME_EVENT, listener);
  return () => rt.off?.(REALTIME_EVENT, listener);
}

/** The logged-in desk user (frappe.session.user). */
export function sessionUser(): string {
  return (globalThis as { frappe?: { session?: { user?: string } } }).frappe?.session?.user ?? "";
}

/** A desk user's full name when the desk knows it. */
export function userName(user: string | null): string {
  if (!user) return "";
  const desk = (globalThis as { frappe?: { user?: { full_name?: (u: string) => string } } }).frappe?.user;
  try {
    return desk?.full_name?.(user) || user;
  } catch {
    return user;
  }
}

/** The desk URL of a record: /app/lead/CRM-LEAD-0001 */
export function formUrl(doctype: string, name: string): string {
  return `/app/${doctype.toLowerCase().replace(/ /g, "-")}/${encodeURIComponent(name)}`;
}
