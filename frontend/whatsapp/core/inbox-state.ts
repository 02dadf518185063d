// The shared inbox's list: which conversations a filter shows (the server's rules in
// voice_agent/conversations/service.py inbox(), applied to pushes) and their order.
import type { Conversation, InboxFilter } from "./types";

export interface InboxQuery {
  filter: InboxFilter;
  account: string | null;
  search: string;
}

/** Whether `conversation` belongs in the list the query shows, for the user `me`. */
export function matchesInbox(conversation: Conversation, query: InboxQuery, me: string): boolean {
  if (query.account && conversation.account !== query.account) return false;
  if (query.filter === "unread" && conversation.unread_count <= 0) return false;
  if (query.filter === "mine" && conversation.assigned_to !== me) return false;
  if (query.filter === "unassigned" && conversation.assigned_to) return false;
  const needle = query.search.trim().slice(0, 100).toLowerCase();
  if (!needle) return true;
  return [conversation.profile_name, conversation.wa_id, conversation.party?.title, conversation.last_message_preview].some(
    (field) => typeof field === "string" && field.toLowerCase().includes(needle),
  );
}

/** Newest activity first, then name descending (the server's order). */
export function compareConversations(a: Conversation, b: Conversation): number {
  const ta = a.last_message_at ? Date.parse(a.last_message_at) : 0;
  const tb = b.last_message_at ? Date.parse(b.last_message_at) : 0;
  if (ta !== tb) return tb - ta;
  return a.name < b.name ? 1 : a.name > b.name ? -1 : 0;
}

/** The list after a pushed conversation: replaced, added, or dropped when it no longer matches. */
export function upsertConversation(list: readonly Conversation[], conversation: Conversation, query: InboxQuery, me: string): Conversation[] {
  const rest = list.filter((c) => c.name !== conversation.name);
  if (!matchesInbox(conversation, query, me)) return rest;
  return [...rest, conversation].sort(compareConversations);
}

/** The title a conversation is known by: the linked record, the WhatsApp profile, or the number. */
export function conversationTitle(conversation: Pick<Conversation, "party" | "profile_name" | "wa_id">): string {
  return conversation.party?.title || conversation.profile_name || formatWaId(conversation.wa_id);
}

/** "+447700900123" for a digits-only wa_id; a business-scoped user id as it is. */
export function formatWaId(waId: string): string {
  return /^\d{6,15}$/.test(waId) ? `+${waId}` : waId;
}
