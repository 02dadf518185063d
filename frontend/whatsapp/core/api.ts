// The voice_agent.api.whatsapp.* and .bot.* endpoints (voice_agent/api/whatsapp.py, bot.py), names and arguments
// exact; every answer is a shape of contracts/whatsapp-api.schema.json.
import { deskCaller, uploadFile, type UploadedFile, type UploadOptions } from "../../shared/desk-call";
import type { MethodCaller } from "../../shared/frappe-call";
import type {
  Conversation,
  InboxFilter,
  InboxPage,
  Message,
  MessagePage,
  OutgoingMessage,
  PartyConversations,
  ScoreHistory,
  Template,
  TemplatePreview,
  TemplateValues,
} from "./types";

const M = "voice_agent.api.whatsapp.";
const BOT = "voice_agent.api.bot.";

export interface InboxQueryArgs {
  filter: InboxFilter;
  account?: string | null;
  search?: string;
  start?: number;
  limit?: number;
}

export interface WhatsAppApi {
  /** With `messages`, the first conversation's newest messages come along (`latest_page`). */
  getPartyConversations(partyDoctype: string, partyName: string, messages?: number): Promise<PartyConversations>;
  startConversation(partyDoctype: string, partyName: string, account: string): Promise<Conversation>;
  getMessages(conversation: string, before?: string | null, limit?: number): Promise<MessagePage>;
  getInbox(query: InboxQueryArgs): Promise<InboxPage>;
  sendMessage(conversation: string, message: OutgoingMessage): Promise<Message>;
  markRead(conversation: string): Promise<Conversation>;
  typing(conversation: string): Promise<unknown>;
  assignConversation(conversation: string, user: string | null): Promise<Conversation>;
  linkParty(conversation: string, partyDoctype: string, partyName: string): Promise<Conversation>;
  /** voice_agent.api.bot: a person takes the conversation from the bot, or gives it back. */
  takeOverFromBot(conversation: string): Promise<Conversation>;
  giveBackToBot(conversation: string): Promise<Conversation>;
  getScoreHistory(conversation: string): Promise<ScoreHistory>;
  getTemplates(conversation: string): Promise<Template[]>;
  previewTemplate(template: string, values: TemplateValues): Promise<TemplatePreview>;
  /** Frappe's upload_file, as the user's own private file; its file_url goes to send_message, which
   * attaches it to the message (a Voice Agent User may not write to the conversation itself). */
  uploadForSending(file: File, opts?: Pick<UploadOptions, "onProgress" | "signal">): Promise<UploadedFile>;
}

type Uploader = (file: Blob, fileName: string, opts: UploadOptions) => Promise<UploadedFile>;

/** Drops undefined arguments (Frappe would receive the string "undefined"). */
function args(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
}

export function createWhatsAppApi(caller: MethodCaller = deskCaller(), upload: Uploader = uploadFile): WhatsAppApi {
  return {
    getPartyConversations: (party_doctype, party_name, messages) =>
      caller.post(`${M}get_party_conversations`, args({ party_doctype, party_name, messages })),
    startConversation: (party_doctype, party_name, account) => caller.post(`${M}start_conversation`, { party_doctype, party_name, account }),
    getMessages: (conversation, before, limit) =>
      caller.post(`${M}get_messages`, args({ conversation, before: before ?? undefined, limit })),
    getInbox: (q) =>
      caller.post(`${M}get_inbox`, args({ filter: q.filter, account: q.account || undefined, search: q.search?.trim() || undefined, start: q.start, limit: q.limit })),
    sendMessage: (conversation, message) => caller.post(`${M}send_message`, args({ conversation, ...message })),
    markRead: (conversation) => caller.post(`${M}mark_read`, { conversation }),
    typing: (conversation) => caller.post(`${M}typing`, { conversation }),
    assignConversation: (conversation, user) => caller.post(`${M}assign_conversation`, args({ conversation, user: user ?? undefined })),
    linkParty: (conversation, party_doctype, party_name) => caller.post(`${M}link_party`, { conversation, party_doctype, party_name }),
    takeOverFromBot: (conversation) => caller.post(`${BOT}escalate_conversation`, { conversation }),
    giveBackToBot: (conversation) => caller.post(`${BOT}give_back_to_bot`, { conversation }),
    getScoreHistory: (conversation) => caller.post(`${BOT}get_score_history`, { conversation }),
    getTemplates: (conversation) => caller.post(`${M}get_templates`, { conversation }),
    previewTemplate: (template, values) => caller.post(`${M}preview_template`, { template, values }),
    uploadForSending: (file, opts = {}) => upload(file, file.name, { isPrivate: true, ...opts }),
  };
}
