// Contract-shaped objects for the unit tests (a full Message / Conversation each time, so a test
// cannot pass on a shape the server never sends).
import type { Conversation, Message, Template } from "./types";

export function message(over: Partial<Message> & Pick<Message, "name">): Message {
  return {
    conversation: "WAC-0001",
    wamid: null,
    direction: "outbound",
    kind: "text",
    status: "queued",
    text: "Hello",
    created_at: "2026-03-01T10:00:00+00:00",
    status_at: {},
    error: null,
    sent_by: "agent@example.com",
    bot_reply: false,
    reply_to: null,
    media: null,
    template: null,
    interactive: null,
    reaction: null,
    location: null,
    ...over,
  };
}

export function conversation(over: Partial<Conversation> & Pick<Conversation, "name">): Conversation {
  return {
    account: "Main number",
    account_title: "Main number",
    wa_id: "447700900123",
    profile_name: "Ann",
    party: null,
    other_parties: [],
    assigned_to: null,
    unread_count: 0,
    last_message_at: "2026-03-01T10:00:00+00:00",
    last_message_preview: "Hello",
    window_ends_at: null,
    status: "Open",
    bot: null,
    ...over,
  };
}

export const ORDER_UPDATE: Template = {
  name: "order_update-en_US-102290129340398",
  template_name: "order_update",
  language: "en_US",
  category: "UTILITY",
  status: "APPROVED",
  header: null,
  body: "Hi {{1}}, your order {{2}} has shipped.",
  footer: null,
  buttons: ["Track", "Stop updates"],
  parameters: [
    { component: "body", index: 1, kind: "text", example: "Ana" },
    { component: "body", index: 2, kind: "text", example: "SO-0042" },
  ],
};

export const SPRING_SALE: Template = {
  name: "spring_sale-en_US-102290129340398",
  template_name: "spring_sale",
  language: "en_US",
  category: "MARKETING",
  status: "APPROVED",
  header: { format: "IMAGE", text: null },
  body: "Hi {{1}}, {{2}} off everything until {{3}}.",
  footer: "Reply STOP to opt out",
  buttons: [],
  parameters: [
    { component: "header", index: 1, kind: "image", example: null },
    { component: "body", index: 1, kind: "text", example: "Ana" },
    { component: "body", index: 2, kind: "text", example: "20%" },
    { component: "body", index: 3, kind: "text", example: "Sunday" },
  ],
};

export const TEXT_HEADER: Template = {
  ...ORDER_UPDATE,
  name: "welcome-en-1",
  template_name: "welcome",
  header: { format: "TEXT", text: "Welcome {{1}}" },
  body: "Your code is {{1}}. Again: {{1}}.",
  footer: "Example Ltd",
  parameters: [
    { component: "header", index: 1, kind: "text", example: null },
    { component: "body", index: 1, kind: "text", example: "1234" },
  ],
};
