import { describe, expect, it } from "vitest";
import { conversation } from "./fixtures";
import { conversationTitle, formatWaId, matchesInbox, upsertConversation, type InboxQuery } from "./inbox-state";

const ME = "agent@example.com";
const q = (over: Partial<InboxQuery> = {}): InboxQuery => ({ filter: "all", account: null, search: "", ...over });

describe("matchesInbox", () => {
  const unreadMine = conversation({ name: "c1", unread_count: 2, assigned_to: ME });
  const readFree = conversation({ name: "c2", unread_count: 0, assigned_to: null, account: "Support" });

  it("applies the server's filters", () => {
    expect(matchesInbox(unreadMine, q({ filter: "unread" }), ME)).toBe(true);
    expect(matchesInbox(readFree, q({ filter: "unread" }), ME)).toBe(false);
    expect(matchesInbox(unreadMine, q({ filter: "mine" }), ME)).toBe(true);
    expect(matchesInbox(unreadMine, q({ filter: "mine" }), "other@example.com")).toBe(false);
    expect(matchesInbox(readFree, q({ filter: "unassigned" }), ME)).toBe(true);
    expect(matchesInbox(unreadMine, q({ filter: "unassigned" }), ME)).toBe(false);
    expect(matchesInbox(readFree, q({ account: "Support" }), ME)).toBe(true);
    expect(matchesInbox(unreadMine, q({ account: "Support" }), ME)).toBe(false);
  });

  it("searches name, number, record and last message, ignoring case", () => {
    const c = conversation({ name: "c", profile_name: "Ann Example", wa_id: "447700900123", party: { doctype: "Lead", name: "CRM-LEAD-1", title: "Ann E. Ltd" }, last_message_preview: "Where is my parcel?" });
    for (const search of ["ann ex", "900123", "e. ltd", "PARCEL"]) expect(matchesInbox(c, q({ search }), ME)).toBe(true);
    expect(matchesInbox(c, q({ search: "bob" }), ME)).toBe(false);
  });
});

describe("upsertConversation", () => {
  it("replaces, reorders by last message, and drops what no longer matches", () => {
    const a = conversation({ name: "a", last_message_at: "2026-03-01T10:00:00Z" });
    const b = conversation({ name: "b", last_message_at: "2026-03-01T11:00:00Z" });
    let list = upsertConversation([], a, q(), ME);
    list = upsertConversation(list, b, q(), ME);
    expect(list.map((c) => c.name)).toEqual(["b", "a"]);
    list = upsertConversation(list, { ...a, last_message_at: "2026-03-01T12:00:00Z", unread_count: 1 }, q(), ME);
    expect(list.map((c) => c.name)).toEqual(["a", "b"]);
    expect(list.length).toBe(2);
    list = upsertConversation(list, { ...a, unread_count: 0 }, q({ filter: "unread" }), ME);
    expect(list.map((c) => c.name)).toEqual(["b"]);
  });
});

describe("conversationTitle", () => {
  it("prefers the linked record, then the profile name, then the number", () => {
    expect(conversationTitle(conversation({ name: "c", party: { doctype: "Lead", name: "L-1", title: "Ann Ltd" } }))).toBe("Ann Ltd");
    expect(conversationTitle(conversation({ name: "c", profile_name: "Ann" }))).toBe("Ann");
    expect(conversationTitle(conversation({ name: "c", profile_name: null }))).toBe("+447700900123");
    expect(formatWaId("US.13491208655302741918")).toBe("US.13491208655302741918");
  });
});
