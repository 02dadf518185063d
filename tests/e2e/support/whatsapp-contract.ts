/// <reference types="node" />
// contracts/whatsapp-api.schema.json with ajv (draft 2020-12 + formats), the validator the sidecar
// checks its own contracts with: every answer and push of the fake Frappe goes through it, so the
// fake cannot answer what the contract does not allow. ajv is resolved from mediasoup-sidecar's
// packages (the e2e suites install them; tests/package.json does not list ajv).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

interface AjvError {
  instancePath: string;
  message?: string;
}
type Validate = ((data: unknown) => boolean) & { errors?: AjvError[] | null };
interface AjvInstance {
  addSchema(schema: object): AjvInstance;
  getSchema(ref: string): Validate | undefined;
  compile(schema: object): Validate;
}

/** What each endpoint answers under `message`: a $def of the contract, or an inline schema. */
export const ANSWERS: Record<string, string | object> = {
  get_party_conversations: "PartyConversations",
  start_conversation: "Conversation",
  get_messages: "MessagePage",
  get_inbox: "InboxPage",
  send_message: "Message",
  mark_read: "Conversation",
  // Not in the contract: voice_agent/api/whatsapp.py typing() answers {"sent": bool}.
  typing: { type: "object", additionalProperties: false, required: ["sent"], properties: { sent: { type: "boolean" } } },
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
  const sidecar = createRequire(join(root, "mediasoup-sidecar/package.json"));
  const { Ajv2020 } = sidecar("ajv/dist/2020.js") as { Ajv2020: new (opts: object) => AjvInstance };
  const addFormats = sidecar("ajv-formats") as ((ajv: AjvInstance) => AjvInstance) | { default: (ajv: AjvInstance) => AjvInstance };
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  (typeof addFormats === "function" ? addFormats : addFormats.default)(ajv);
  const schema = JSON.parse(readFileSync(join(root, "contracts/whatsapp-api.schema.json"), "utf8")) as { $id: string };
  ajv.addSchema(schema);
  const validators = new Map<string, Validate>();
  const validator = (key: string, shape: string | object): Validate => {
    let v = validators.get(key);
    if (!v) {
      v = typeof shape === "string" ? ajv.getSchema(`${schema.$id}#/$defs/${shape}`) : ajv.compile(shape);
      if (!v) throw new Error(`no $def ${String(shape)} in the contract`);
      validators.set(key, v);
    }
    return v;
  };
  const check = (key: string, shape: string | object, data: unknown): void => {
    const v = validator(key, shape);
    if (!v(data)) {
      const why = (v.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}`).join("; ");
      throw new Error(`${key} does not match the contract: ${why}`);
    }
  };
  return {
    answer(endpoint, data) {
      const shape = ANSWERS[endpoint];
      if (!shape) throw new Error(`no contract answer for ${endpoint}`);
      check(endpoint, shape, data);
    },
    update: (data) => check("whatsapp_update", "WhatsAppUpdate", data),
  };
}
