// What the conversation's bot bar says: the bot's state, why it handed over, its pause, the lead score.
import { __ } from "../../shared/i18n";
import { formatMessageTime } from "./format";
import type { BotView } from "./types";

export type HandoverReason = NonNullable<BotView["handover_reason"]>;

/** Why a person has the conversation, in words (the codes of voice_agent.bot.handover, plus ours). */
export function handoverReasonText(reason: HandoverReason | null): string {
  switch (reason) {
    case "customer_asked":
      return __("The customer asked for a person.");
    case "tool_failures":
      return __("A tool kept failing.");
    case "model_unsure":
      return __("The bot was not sure how to help.");
    case "score_threshold":
      return __("The lead score reached the threshold.");
    case "max_turns":
      return __("The bot reached its maximum number of replies.");
    case "bot_unavailable":
      return __("The bot could not answer.");
    case "person_took_over":
      return __("A person took over.");
    default:
      return __("Handed over to a person.");
  }
}

/** The bar's main line. */
export function botStatusText(bot: BotView, now: number, timeZone?: string, locale?: string): string {
  if (bot.state === "Handed over") {
    const at = bot.handed_over_at ? ` (${formatMessageTime(bot.handed_over_at, now, timeZone, locale)})` : "";
    return __("A person handles this conversation{0}: {1}", [at, handoverReasonText(bot.handover_reason)]);
  }
  if (bot.state === "Off") return __("The bot is off for this conversation.");
  if (bot.paused_until && Date.parse(bot.paused_until) > now) {
    return __("The bot is paused until {0}: {1}", [formatMessageTime(bot.paused_until, now, timeZone, locale), bot.note ?? ""]);
  }
  return __("The bot answers this conversation.");
}

/** "+10" / "-5" / "±0": the change of a score history row. */
export function scoreChange(change: number): string {
  return change > 0 ? `+${change}` : change < 0 ? `${change}` : "±0";
}
