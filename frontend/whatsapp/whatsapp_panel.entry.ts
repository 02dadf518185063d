// The WhatsApp panel of a record's form, lazy-loaded by voice_agent/public/js/whatsapp_panel.js:
// a side drawer opened from the form's WhatsApp button (full width on a phone).
import { __ } from "../shared/i18n";
import { createWhatsAppApi, type WhatsAppApi } from "./core/api";
import { h, icon, uid } from "./ui/dom";
import { WhatsAppPanel, type PartyRef } from "./ui/panel";
import { onWhatsAppUpdate, sessionUser } from "./ui/realtime";
import { ensureStyles } from "./ui/styles";

interface PanelHandle {
  party: PartyRef;
  panel: WhatsAppPanel;
  close(): void;
}

interface VoiceAgentWhatsApp {
  open_whatsapp_panel(party: PartyRef): PanelHandle;
  /** The panel inline in a container of the page (no drawer). */
  mount_whatsapp_panel(container: HTMLElement, party: PartyRef): PanelHandle;
  close_whatsapp_panel(): void;
  whatsapp_api?: WhatsAppApi;
}

interface Router {
  on?(event: string, handler: () => void): void;
  off?(event: string, handler: () => void): void;
}

const ns = ((window as unknown as { voice_agent?: Partial<VoiceAgentWhatsApp> }).voice_agent ??= {}) as Partial<VoiceAgentWhatsApp>;
let drawer: PanelHandle | null = null;

function api(): WhatsAppApi {
  return ns.whatsapp_api ?? createWhatsAppApi();
}

function mount(container: HTMLElement, party: PartyRef, onClose?: () => void): PanelHandle {
  ensureStyles();
  const panel = new WhatsAppPanel({ api: api(), party, me: sessionUser() });
  container.append(panel.root);
  const stop = onWhatsAppUpdate((update) => panel.applyUpdate(update));
  void panel.load();
  let closed = false;
  return {
    party,
    panel,
    close() {
      if (closed) return;
      closed = true;
      stop();
      panel.destroy();
      onClose?.();
    },
  };
}

function openDrawer(party: PartyRef): PanelHandle {
  if (drawer && drawer.party.doctype === party.doctype && drawer.party.name === party.name) {
    drawer.panel.focus();
    return drawer;
  }
  drawer?.close();
  ensureStyles();
  const titleId = uid("drawer-title");
  const close = h("button", { type: "button", class: "btn btn-default btn-sm va-wa-btn va-wa-icon-btn", "aria-label": __("Close WhatsApp"), title: __("Close (Esc)") }, icon("close"));
  const root = h(
    "aside",
    { class: "va-wa va-wa-drawer", role: "complementary", "aria-labelledby": titleId },
    h("div", { class: "va-wa-drawer-head" }, h("h2", { class: "va-wa-drawer-title", id: titleId }, icon("whatsapp"), h("span", {}, __("WhatsApp · {0}", [party.title || party.name]))), close),
  );
  document.body.append(root);
  const router = (window as unknown as { frappe?: { router?: Router } }).frappe?.router;
  const onRoute = (): void => handle.close();
  const handle = mount(root, party, () => {
    router?.off?.("change", onRoute);
    root.remove();
    if (drawer === handle) drawer = null;
  });
  close.addEventListener("click", () => handle.close());
  root.addEventListener("keydown", (event) => {
    // Escape closes the drawer unless a dialog of its own took it first.
    if (event.key === "Escape" && !event.defaultPrevented) {
      event.preventDefault();
      handle.close();
    }
  });
  router?.on?.("change", onRoute);
  drawer = handle;
  handle.panel.setVisible(true);
  requestAnimationFrame(() => handle.panel.focus());
  return handle;
}

ns.open_whatsapp_panel = openDrawer;
ns.mount_whatsapp_panel = (container, party) => mount(container, party);
ns.close_whatsapp_panel = () => drawer?.close();
