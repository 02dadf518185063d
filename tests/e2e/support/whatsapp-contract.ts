/// <reference types="node" />
// What the WhatsApp endpoints answer, per contracts/whatsapp-api.schema.json: every answer and push of
// the fake Frappe goes through it, so the fake cannot answer what the contract does not allow.
import { loadContracts } from "./contracts";

/** What each endpoint answers under `message`: a $def of the contract, or an inline schema. */
export const ANSWERS: Record<string, string | object> = {
  get_party_conversations: "PartyConversations",
  start_conversation: "Conversation",
  get_messages: "MessagePage",
  get_inbox: "InboxPage",
  send_message: "Message",
  mark_read: "Conversation",
  typing: "TypingAnswer",
  assign_conversation: "Conversation",
  link_party: "Conversation",
  get_templates: { type: "array", items: { $ref: "https://voice-agent.local/contracts/whatsapp-api.schema.json#/$defs/Template" } },
  preview_template: "TemplatePreview",
};

export interface ContractCheck {
  /** Throws with ajv's words when `data` is not what `endpoint` may answer. */
  answer(endpoint: string, data: unknown): void;
  /** Throws when `data` is not a WhatsAppUpdate. */
  update(data: unknown): void;
}

export function loadContract(root: string): ContractCheck {
  const contracts = loadContracts(root);
  return {
    answer(endpoint, data) {
      const shape = ANSWERS[endpoint];
      if (!shape) throw new Error(`no contract answer for ${endpoint}`);
      contracts.check("whatsapp-api.schema.json", shape, data, endpoint);
    },
    update: (data) => contracts.check("whatsapp-api.schema.json", "WhatsAppUpdate", data, "whatsapp_update"),
  };
}
