import { describe, expect, it } from "vitest";
import { message } from "./fixtures";
import { mergeMessage, statusRank, ticksLabel, ticksOf } from "./status";
import type { MessageStatus } from "./types";

describe("ticksOf", () => {
  it.each<[MessageStatus, string]>([
    ["queued", "pending"],
    ["sending", "pending"],
    ["sent", "sent"],
    ["delivered", "delivered"],
    ["read", "read"],
    ["failed", "failed"],
  ])("outbound %s shows %s", (status, ticks) => {
    expect(ticksOf({ direction: "outbound", status })).toBe(ticks);
  });

  it("inbound messages have no ticks, whatever their status", () => {
    expect(ticksOf({ direction: "inbound", status: "received" })).toBe("none");
    expect(ticksOf({ direction: "inbound", status: "read" })).toBe("none");
  });

  it("says a queued message with an error will be retried", () => {
    const retrying = message({ name: "m", status: "queued", error: { code: 130429, message: "Too many", retrying: true } });
    expect(ticksLabel(retrying)).toBe("Not sent yet: will try again");
    expect(ticksLabel(message({ name: "m", status: "queued" }))).toBe("Sending");
    expect(ticksLabel(message({ name: "m", status: "failed" }))).toBe("Not delivered");
  });
});

describe("mergeMessage", () => {
  const queued = message({ name: "m1", status: "queued" });
  const sent = message({ name: "m1", status: "sent", wamid: "wamid.1" });
  const delivered = message({ name: "m1", status: "delivered", wamid: "wamid.1" });
  const read = message({ name: "m1", status: "read", wamid: "wamid.1" });
  const failed = message({ name: "m1", status: "failed", error: { code: 131026, message: "Undeliverable" } });

  it("moves forward only: a late answer of the send (queued) does not undo a pushed 'sent'", () => {
    expect(mergeMessage(sent, queued)).toBe(sent);
    expect(mergeMessage(read, delivered)).toBe(read);
    expect(mergeMessage(queued, sent)).toBe(sent);
  });

  it("orders failed between sent and delivered, as the server does", () => {
    expect(statusRank("failed")).toBeGreaterThan(statusRank("sent"));
    expect(mergeMessage(sent, failed)).toBe(failed);
    expect(mergeMessage(delivered, failed)).toBe(delivered);
    expect(mergeMessage(failed, delivered)).toBe(delivered);
  });

  it("on the same status keeps the media further along, else takes the newer snapshot", () => {
    const pending = message({ name: "i", direction: "inbound", status: "received", kind: "image", media: { mime_type: "image/jpeg", state: "pending", url: null, filename: null, size: null } });
    const downloaded = { ...pending, media: { mime_type: "image/jpeg", state: "downloaded" as const, url: "/private/files/a.jpg", filename: "a.jpg", size: 10 } };
    expect(mergeMessage(downloaded, pending)).toBe(downloaded);
    expect(mergeMessage(pending, downloaded)).toBe(downloaded);
    const retrying = { ...queued, error: { code: 130429, message: "later", retrying: true } };
    expect(mergeMessage(queued, retrying)).toBe(retrying);
  });
});
