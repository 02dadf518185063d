// Bundle of the public invite page voice_agent/www/call/index.html.
import "./invite.css";
import { mountInvitePage } from "./invite-page";
import type { MediaCounters } from "../calling/call-session";

const root = document.getElementById("va-invite");
if (root) {
  const page = mountInvitePage({ root });
  const ns = ((window as unknown as { voice_agent?: Record<string, unknown> }).voice_agent ??= {});
  ns.media_counters = async (): Promise<MediaCounters | null> => page.panel()?.session?.mediaCounters() ?? null;
}
