// The shared inbox desk page (voice_agent/voice_agent/page/whatsapp_inbox), lazy-loaded by the
// page's script into its body.
import { createWhatsAppApi, type WhatsAppApi } from "./core/api";
import { Inbox } from "./ui/inbox";
import { onWhatsAppUpdate, sessionUser } from "./ui/realtime";
import { ensureStyles } from "./ui/styles";

interface InboxHandle {
  inbox: Inbox;
  /** Opens a conversation (the page's route /app/whatsapp-inbox/<name>). */
  open(conversation: string): Promise<void>;
  destroy(): void;
}

interface VoiceAgentInbox {
  mount_whatsapp_inbox(container: HTMLElement, opts?: { conversation?: string | null }): InboxHandle;
  whatsapp_api?: WhatsAppApi;
}

const ns = ((window as unknown as { voice_agent?: Partial<VoiceAgentInbox> }).voice_agent ??= {}) as Partial<VoiceAgentInbox>;

ns.mount_whatsapp_inbox = (container, opts = {}) => {
  ensureStyles();
  const inbox = new Inbox({ api: ns.whatsapp_api ?? createWhatsAppApi(), me: sessionUser(), conversation: opts.conversation ?? null });
  container.append(inbox.root);
  const stop = onWhatsAppUpdate((update) => inbox.applyUpdate(update));
  void inbox.load();
  return {
    inbox,
    open: (conversation) => inbox.open(conversation),
    destroy() {
      stop();
      inbox.destroy();
    },
  };
};
