// Delivery ticks and the merge of message snapshots: a message reaches the desk several times
// (the send's answer, `whatsapp_update` pushes to each user who may see it, a page of
// history), in any order. The order of statuses is the server's (voice_agent/messaging/statuses.py):
// a snapshot never takes a message back to an earlier status.
import { __ } from "../../shared/i18n";
import type { Media, Message, MessageStatus } from "./types";

/** queued / sending / received < sent < failed < delivered < read */
const STATUS_RANK: Record<MessageStatus, number> = {
  queued: 0,
  sending: 0,
  received: 0,
  sent: 1,
  failed: 2,
  delivered: 3,
  read: 4,
};

const MEDIA_RANK: Record<Media["state"], number> = { pending: 0, uploaded: 1, downloaded: 2, failed: 2, too_large: 2 };

export function statusRank(status: MessageStatus): number {
  return STATUS_RANK[status] ?? 0;
}

/** The snapshot to keep: the one further along (status, then media); on a tie the newer arrival. */
export function mergeMessage(current: Message | undefined, incoming: Message): Message {
  if (!current) return incoming;
  const a = statusRank(current.status);
  const b = statusRank(incoming.status);
  if (b !== a) return b > a ? incoming : current;
  const ma = current.media ? MEDIA_RANK[current.media.state] : -1;
  const mb = incoming.media ? MEDIA_RANK[incoming.media.state] : -1;
  return mb < ma ? current : incoming;
}

export type Ticks = "none" | "pending" | "sent" | "delivered" | "read" | "failed";

/** What the ticks of a message show: nothing on inbound, a clock until Meta accepted it. */
export function ticksOf(message: Pick<Message, "direction" | "status">): Ticks {
  if (message.direction !== "outbound") return "none";
  switch (message.status) {
    case "queued":
    case "sending":
      return "pending";
    case "sent":
    case "delivered":
    case "read":
    case "failed":
      return message.status;
    case "received":
      return "none";
  }
}

/** The ticks' words, for screen readers and the tooltip. */
export function ticksLabel(message: Pick<Message, "direction" | "status" | "error">): string {
  switch (ticksOf(message)) {
    case "none":
      return "";
    case "pending":
      return message.error?.retrying ? __("Not sent yet: will try again") : __("Sending");
    case "sent":
      return __("Sent");
    case "delivered":
      return __("Delivered");
    case "read":
      return __("Read");
    case "failed":
      return __("Not delivered");
  }
}
