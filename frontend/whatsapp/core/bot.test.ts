import { describe, expect, it } from "vitest";
import { botStatusText, handoverReasonText, scoreChange, type HandoverReason } from "./bot";
import type { BotView } from "./types";
import contract from "../../../contracts/whatsapp-api.schema.json";

const NOW = Date.parse("2026-03-04T15:00:00Z");

function bot(over: Partial<BotView>): BotView {
  return {
    state: "Active", handover_reason: null, handover_detail: null, handed_over_at: null, paused_until: null, note: null,
    language: "en", score: 0, score_explanation: [], cost: null, ...over,
  };
}

describe("bot bar", () => {
  it("has a sentence for every hand-over reason of the contract", () => {
    const reasons = (contract.$defs.BotView.properties.handover_reason.anyOf[1] as { enum: HandoverReason[] }).enum;
    expect(reasons.length).toBeGreaterThan(5);
    const texts = reasons.map((r) => handoverReasonText(r));
    expect(new Set(texts).size).toBe(reasons.length);
    expect(texts).not.toContain(handoverReasonText(null));
  });

  it("says who handles the conversation, and why", () => {
    expect(botStatusText(bot({}), NOW)).toBe("The bot answers this conversation.");
    expect(botStatusText(bot({ state: "Handed over", handover_reason: "customer_asked", handed_over_at: "2026-03-04T14:59:00Z" }), NOW, "UTC", "en-GB"))
      .toBe("A person handles this conversation (14:59): The customer asked for a person.");
    expect(botStatusText(bot({ paused_until: "2026-03-04T16:00:00Z", note: "6 replies a minute at most." }), NOW, "UTC", "en-GB"))
      .toBe("The bot is paused until 16:00: 6 replies a minute at most.");
    expect(botStatusText(bot({ paused_until: "2026-03-04T14:00:00Z", note: "over" }), NOW)).toBe("The bot answers this conversation.");
  });

  it("signs score changes", () => {
    expect([scoreChange(10), scoreChange(-5), scoreChange(0)]).toEqual(["+10", "-5", "±0"]);
  });
});
