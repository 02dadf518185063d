import { CallPanel } from "../calling/call-panel";
import { createCallsApi, type CallsApi } from "../calling/calls-api";
import type { CallSessionDeps } from "../calling/call-session";

export interface InvitePageOptions {
  root: HTMLElement;
  api?: CallsApi;
  deps?: Partial<CallSessionDeps>;
}

/**
 * The customer's side of an invite link (/call?invite=…): a name, a Join
 * button (a user gesture, so the browser lets the call's audio play) and then
 * the same call panel the agent has, without the agent-only controls.
 */
export function mountInvitePage({ root, api = createCallsApi(), deps }: InvitePageOptions): { panel: () => CallPanel | null } {
  const invite = new URLSearchParams(window.location.search).get("invite")?.trim() ?? "";
  const form = root.querySelector<HTMLFormElement>("#va-join-form");
  const nameInput = root.querySelector<HTMLInputElement>("#va-join-name");
  const error = root.querySelector<HTMLElement>("#va-join-error");
  const callArea = root.querySelector<HTMLElement>("#va-call-area");
  if (!form || !nameInput || !error || !callArea) throw new Error("invite page markup is incomplete");
  let panel: CallPanel | null = null;

  if (!invite) {
    form.hidden = true;
    error.hidden = false;
    error.textContent = "This link has no invitation in it. Ask the person who sent it for a new link.";
    return { panel: () => panel };
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (panel) return;
    const name = nameInput.value.trim();
    form.hidden = true;
    panel = new CallPanel({
      title: "Call with our team",
      api,
      layout: "inline",
      container: callArea,
      deps,
      join: () => api.joinInvite(invite, name || undefined),
      onClose: () => {
        panel = null;
        form.hidden = false;
      },
    });
    void panel.start();
  });
  nameInput.focus();
  return { panel: () => panel };
}
