// A conversation's messages as the view holds them: pages of history fetched backwards and live
// snapshots merged in, each message once (by name), in time order.
import { mergeMessage } from "./status";
import type { Message, MessagePage } from "./types";

export type ApplyResult = "added" | "updated" | "unchanged";

function compare(a: Message, b: Message): number {
  const ta = Date.parse(a.created_at);
  const tb = Date.parse(b.created_at);
  if (ta !== tb) return ta - tb;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export class MessageHistory {
  #byName = new Map<string, Message>();
  #ordered: Message[] = [];
  #cursor: string | null = null;
  #hasMore = false;
  #loaded = false;

  /** Oldest first. */
  get messages(): readonly Message[] {
    return this.#ordered;
  }

  get hasMore(): boolean {
    return this.#hasMore;
  }

  /** Whether the first page has arrived. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** `before` for the next older page: the last message of the last page, in the server's order. */
  get cursor(): string | null {
    return this.#cursor;
  }

  get(name: string): Message | undefined {
    return this.#byName.get(name);
  }

  findByWamid(wamid: string): Message | undefined {
    return this.#ordered.find((m) => m.wamid === wamid);
  }

  /** A page from get_messages (newest first); the first call is the latest page, then older ones. */
  addPage(page: Pick<MessagePage, "messages" | "has_more">): Message[] {
    const added: Message[] = [];
    for (const message of page.messages) {
      if (this.apply(message) === "added") added.push(message);
    }
    const last = page.messages[page.messages.length - 1];
    if (last) this.#cursor = last.name;
    this.#hasMore = page.has_more;
    this.#loaded = true;
    return added;
  }

  /** One snapshot (a push or a send's answer): added, or merged into the one already held. */
  apply(message: Message): ApplyResult {
    const current = this.#byName.get(message.name);
    const kept = mergeMessage(current, message);
    if (current === kept) return "unchanged";
    this.#byName.set(message.name, kept);
    if (current) {
      const at = this.#ordered.indexOf(current);
      this.#ordered.splice(at, 1);
    }
    this.#insert(kept);
    return current ? "updated" : "added";
  }

  #insert(message: Message): void {
    let lo = 0;
    let hi = this.#ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compare(this.#ordered[mid] as Message, message) <= 0) lo = mid + 1;
      else hi = mid;
    }
    this.#ordered.splice(lo, 0, message);
  }
}
