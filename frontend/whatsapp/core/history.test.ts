import { describe, expect, it } from "vitest";
import { message } from "./fixtures";
import { MessageHistory } from "./history";

const at = (minute: number) => `2026-03-01T10:${String(minute).padStart(2, "0")}:00+00:00`;

describe("MessageHistory", () => {
  it("pages backwards: the latest page first, then older ones before it, each once", () => {
    const h = new MessageHistory();
    h.addPage({ messages: [message({ name: "m5", created_at: at(5) }), message({ name: "m4", created_at: at(4) })], has_more: true });
    expect(h.cursor).toBe("m4");
    expect(h.hasMore).toBe(true);
    const added = h.addPage({ messages: [message({ name: "m4", created_at: at(4) }), message({ name: "m3", created_at: at(3) })], has_more: false });
    expect(added.map((m) => m.name)).toEqual(["m3"]);
    expect(h.messages.map((m) => m.name)).toEqual(["m3", "m4", "m5"]);
    expect([h.cursor, h.hasMore]).toEqual(["m3", false]);
  });

  it("merges live snapshots without duplicates, whichever comes first", () => {
    const h = new MessageHistory();
    // The push of a new inbound message can beat the first page.
    expect(h.apply(message({ name: "m9", direction: "inbound", status: "received", created_at: at(9) }))).toBe("added");
    h.addPage({ messages: [message({ name: "m9", direction: "inbound", status: "received", created_at: at(9) }), message({ name: "m8", created_at: at(8) })], has_more: false });
    expect(h.messages.map((m) => m.name)).toEqual(["m8", "m9"]);
    // Our send: the pushed "sent" arrives before the answer's "queued".
    expect(h.apply(message({ name: "m10", status: "sent", created_at: at(10) }))).toBe("added");
    expect(h.apply(message({ name: "m10", status: "queued", created_at: at(10) }))).toBe("unchanged");
    expect(h.apply(message({ name: "m10", status: "delivered", created_at: at(10) }))).toBe("updated");
    expect(h.apply(message({ name: "m10", status: "read", created_at: at(10) }))).toBe("updated");
    expect(h.apply(message({ name: "m10", status: "delivered", created_at: at(10) }))).toBe("unchanged");
    expect(h.messages.map((m) => `${m.name}:${m.status}`)).toEqual(["m8:queued", "m9:received", "m10:read"]);
  });

  it("keeps time order for out-of-order arrivals and equal times (then by name)", () => {
    const h = new MessageHistory();
    h.apply(message({ name: "b", created_at: at(1) }));
    h.apply(message({ name: "c", created_at: at(0) }));
    h.apply(message({ name: "a", created_at: at(1) }));
    expect(h.messages.map((m) => m.name)).toEqual(["c", "a", "b"]);
    expect(h.get("a")?.name).toBe("a");
  });

  it("finds the message a reaction points at by its wamid", () => {
    const h = new MessageHistory();
    h.apply(message({ name: "x", wamid: "wamid.X", status: "sent" }));
    expect(h.findByWamid("wamid.X")?.name).toBe("x");
    expect(h.findByWamid("wamid.none")).toBeUndefined();
  });
});
