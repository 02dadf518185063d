// The desk's WhatsApp shapes are those of contracts/whatsapp-api.schema.json, generated into
// contracts/whatsapp-api.d.ts (never written by hand here).
export type {
  BotView,
  Conversation,
  InboxPage,
  Media,
  Message,
  MessageKind,
  MessagePage,
  MessageStatus,
  Party,
  PartyConversations,
  ScoreHistory,
  Template,
  TemplatePreview,
  WhatsAppUpdate,
} from "../../../contracts/whatsapp-api";

import type { Template } from "../../../contracts/whatsapp-api";

export type TemplateParameter = Template["parameters"][number];
export type InboxFilter = "all" | "unread" | "mine" | "unassigned";
export const INBOX_FILTERS: readonly InboxFilter[] = ["all", "unread", "mine", "unassigned"];

/** What `send_message` takes besides the conversation (voice_agent.api.whatsapp.send_message). */
export type OutgoingMessage =
  | { kind: "text"; text: string; reply_to?: string }
  | { kind: "media"; file_url: string; text?: string; reply_to?: string }
  | { kind: "template"; template: string; template_values: TemplateValues }
  | { kind: "buttons"; text: string; options: InteractiveOption[]; reply_to?: string }
  | { kind: "list"; text: string; options: InteractiveOption[]; list_button: string; reply_to?: string };

export interface InteractiveOption {
  id: string;
  title: string;
  description?: string;
}

/** `{"body": {"1": "Ann"}, "header": {"1": "…"} | {"media": file_url}}` */
export interface TemplateValues {
  body?: Record<string, string>;
  header?: Record<string, string>;
}
