import { afterEach, describe, expect, it } from "vitest";
import { deskCaller, deskCallError, type DeskCallOptions } from "./desk-call";
import { formatText, __ } from "./i18n";

const messages = (text: string) => JSON.stringify([JSON.stringify({ message: text })]);
const g = globalThis as { frappe?: unknown; __?: unknown };

afterEach(() => {
  delete g.frappe;
  delete g.__;
});

describe("deskCallError", () => {
  it("reads the parsed body frappe.call hands its error callback (417)", () => {
    const e = deskCallError({ exc_type: "ValidationError", _server_messages: messages("More than 24 hours have passed") });
    expect([e.status, e.excType, e.serverMessage]).toEqual([0, "ValidationError", "More than 24 hours have passed"]);
  });

  it("reads a rejected jqXHR (403, 404: no error callback)", () => {
    const e = deskCallError({ status: 403, responseJSON: { exc_type: "PermissionError", _server_messages: messages("You cannot see this WhatsApp conversation.") } });
    expect([e.status, e.excType, e.message]).toEqual([403, "PermissionError", "You cannot see this WhatsApp conversation."]);
  });

  it("survives an empty callback (500, 504)", () => {
    expect(deskCallError(undefined).message).toBe("Request failed (HTTP 0)");
  });
});

describe("deskCaller", () => {
  it("posts silently through frappe.call and resolves with message", async () => {
    const seen: DeskCallOptions[] = [];
    g.frappe = { call: (o: DeskCallOptions) => (seen.push(o), o.callback?.({ message: { ok: 1 } }), undefined) };
    await expect(deskCaller().post("voice_agent.api.whatsapp.mark_read", { conversation: "C" })).resolves.toEqual({ ok: 1 });
    expect(seen[0]).toMatchObject({ method: "voice_agent.api.whatsapp.mark_read", args: { conversation: "C" }, type: "POST", silent: true });
  });

  it("rejects once, from the error callback or the rejected request", async () => {
    g.frappe = { call: (o: DeskCallOptions) => (o.error?.({ _server_messages: messages("Choose a template.") }), Promise.reject({ status: 417 })) };
    await expect(deskCaller().post("m")).rejects.toMatchObject({ serverMessage: "Choose a template." });
    g.frappe = { call: () => Promise.reject({ status: 404, responseJSON: { exc_type: "DoesNotExistError", _server_messages: messages("Gone") } }) };
    await expect(deskCaller().post("m")).rejects.toMatchObject({ status: 404, serverMessage: "Gone" });
  });

  it("says so outside the desk", async () => {
    await expect(deskCaller().post("m")).rejects.toThrow(/not the Frappe desk/);
  });
});

describe("__", () => {
  it("fills {0} placeholders without a desk, and uses the desk's translator with one", () => {
    expect(__("Reply window: {0} left", ["5 min"])).toBe("Reply window: 5 min left");
    expect(formatText("{0} and {1} and {2}", ["a", 1])).toBe("a and 1 and {2}");
    g.__ = (text: string, replace: unknown[]) => `[${formatText(text, replace)}]`;
    expect(__("Send {0}", ["now"])).toBe("[Send now]");
  });
});
