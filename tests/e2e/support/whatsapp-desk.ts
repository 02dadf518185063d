// The desk around the WhatsApp bundles in the browser tests: a page shell styled with Frappe's CSS
// variables (light and dark), and a minimal `frappe` global with the parts the loaders and bundles
// use, behaving as the desk's do: frappe.call (form-encoded POST, dict/list arguments as JSON,
// callback / error / rejection per HTTP status, _server_messages shown unless silent),
// frappe.realtime (on/off/doc_subscribe, here over server-sent events), frappe.require,
// frappe.ui.form.on, frappe.ui.make_app_page, frappe.pages, frappe.get_route, frappe.router,
// frappe.user, frappe.session, __().
import type { PartyRecord } from "./whatsapp-frappe";

export const HARNESS_FRAPPE_JS = String.raw`
(function () {
  const cfg = window.__harness;
  window.__msgprints = [];
  window.__ = function (text, replace) {
    return String(text).replace(/\{(\d+)\}/g, (m, i) => (replace && replace[i] !== undefined ? String(replace[i]) : m));
  };
  const handlers = {};
  const routeHandlers = new Set();
  const loaded = new Map();
  const clientId = Math.random().toString(36).slice(2);
  const source = new EventSource("/harness/realtime?client=" + clientId);
  const listeners = new Map();
  window.__realtimeReady = new Promise((resolve) => source.addEventListener("connected", () => resolve(true), { once: true }));

  function encode(args) {
    const body = new URLSearchParams();
    for (const [key, value] of Object.entries(args || {})) {
      // frappe.request.prepare: plain objects and arrays travel as JSON; jQuery.param sends null as "".
      const v = value !== null && typeof value === "object" ? JSON.stringify(value) : value == null ? "" : String(value);
      body.append(key, v);
    }
    return body;
  }

  function msgprint(message) {
    window.__msgprints.push(message);
  }

  window.frappe = {
    boot: { lang: "en", time_zone: { system: "UTC", user: "UTC" }, ...(cfg.boot || {}) },
    session: { user: cfg.user },
    csrf_token: cfg.csrf,
    user: {
      has_role: (role) => ["Voice Agent User", "Desk User"].includes(role),
      full_name: (user) => ({ "agent@example.com": "Alex Agent", "colleague@example.com": "Casey Colleague" })[user] || user,
    },
    msgprint,
    call(opts) {
      const method = opts.method;
      const request = fetch("/api/method/" + method, {
        method: opts.type || "POST",
        headers: { "X-Frappe-CSRF-Token": window.frappe.csrf_token, Accept: "application/json", "X-Frappe-CMD": "" },
        body: encode(opts.args),
      }).then(async (res) => {
        const text = await res.text();
        let data = null;
        try { data = JSON.parse(text); } catch (e) { data = null; }
        if (res.status === 200) {
          opts.callback && opts.callback(data);
          return data;
        }
        if (res.status === 417 || res.status === 501 || res.status === 500 || res.status === 504) opts.error && opts.error(res.status === 500 || res.status === 504 ? undefined : data);
        if (res.status === 404) msgprint("The resource you are looking for is not available");
        if (data && data._server_messages && !opts.silent) msgprint(data._server_messages);
        const xhr = { status: res.status, responseText: text, responseJSON: data };
        throw xhr;
      });
      return request;
    },
    realtime: {
      on(event, fn) {
        const wrapped = (e) => fn(JSON.parse(e.data));
        listeners.set(fn, wrapped);
        source.addEventListener(event, wrapped);
      },
      off(event, fn) {
        const wrapped = listeners.get(fn);
        if (wrapped) source.removeEventListener(event, wrapped);
        listeners.delete(fn);
      },
      doc_subscribe(doctype, docname) {
        return window.__realtimeReady.then(() =>
          fetch("/harness/realtime/subscribe", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ client: clientId, doctype, docname }) }),
        );
      },
    },
    require(url, callback) {
      let promise = loaded.get(url);
      if (!promise) {
        promise = new Promise((resolve, reject) => {
          const script = document.createElement("script");
          script.src = url;
          script.onload = () => resolve();
          script.onerror = () => reject(new Error("could not load " + url));
          document.head.append(script);
        });
        loaded.set(url, promise);
      }
      return promise.then(() => callback && callback());
    },
    ui: {
      form: {
        handlers,
        on(doctype, events) {
          (handlers[doctype] = handlers[doctype] || []).push(events);
        },
      },
      make_app_page({ parent, title }) {
        const head = document.createElement("div");
        head.className = "page-head";
        head.innerHTML = '<div class="container page-head-content"><h1 class="page-title"></h1></div>';
        head.querySelector("h1").textContent = title;
        const main = document.createElement("div");
        main.className = "container page-body layout-main-section";
        parent.append(head, main);
        return { main: { get: () => main, 0: main }, set_title: (t) => (head.querySelector("h1").textContent = t) };
      },
    },
    pages: {},
    get_route: () => location.pathname.split("/").slice(2).filter(Boolean).map(decodeURIComponent),
    router: {
      on: (event, fn) => event === "change" && routeHandlers.add(fn),
      off: (event, fn) => routeHandlers.delete(fn),
      trigger_change: () => routeHandlers.forEach((fn) => fn()),
    },
  };
})();
`;

const DESK_CSS = `
:root, [data-theme="light"] {
  --gray-50: #f8f8f8; --gray-100: #f3f3f3; --gray-200: #ededed; --gray-300: #e2e2e2; --gray-400: #c7c7c7; --gray-500: #999999;
  --gray-600: #7c7c7c; --gray-700: #525252; --gray-800: #383838; --gray-900: #171717;
  --blue-50: #f7fbfd; --blue-100: #edf6fd; --blue-400: #70b6f0; --blue-500: #0289f7; --blue-600: #007be0; --blue-700: #0070cc;
  --green-100: #e4f5e9; --green-500: #59ba8b; --green-600: #30a66d; --green-700: #278f5e; --green-900: #173b2c;
  --red-50: #fff7f7; --red-100: #fff0f0; --red-500: #e03636; --red-600: #cc2929; --red-800: #941f1f;
  --yellow-50: #fffcef; --yellow-100: #fff7d3; --yellow-700: #ab6e05; --yellow-800: #8c5600;
  --neutral: #ffffff; --font-stack: "Inter", -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Liberation Sans", sans-serif;
  --text-xs: 12px; --text-sm: 13px; --text-base: 14px; --text-lg: 16px; --text-xl: 18px;
  --heading-color: var(--gray-900); --text-color: var(--gray-800); --text-muted: var(--gray-700); --text-light: var(--gray-600);
  --bg-color: white; --fg-color: white; --card-bg: var(--fg-color); --subtle-fg: var(--gray-100); --subtle-accent: var(--gray-50);
  --navbar-bg: white; --fg-hover-color: var(--gray-100); --control-bg: var(--gray-100); --modal-bg: white; --border-color: var(--gray-200);
  --btn-primary: var(--gray-900); --btn-default-bg: var(--gray-100); --btn-default-hover-bg: var(--gray-300);
  --bg-green: var(--green-100); --bg-gray: var(--gray-100);
  --alert-text-danger: var(--red-600); --alert-text-warning: var(--yellow-700); --alert-bg-danger: var(--red-50); --alert-bg-warning: var(--yellow-50);
  --border-radius: 8px; --border-radius-md: 10px; --border-radius-lg: 12px; --navbar-height: 48px;
  --focus-blue: 0px 0px 0px 2px #65b9fc;
  --shadow-sm: 0px 1px 2px rgba(0, 0, 0, .1); --shadow-md: 0px 0px 1px rgba(0,0,0,.12), 0px .5px 2px rgba(0,0,0,.15), 0px 2px 3px rgba(0,0,0,.16);
  --shadow-2xl: 0px 0px 1px rgba(0, 0, 0, .2), 0px 1px 3px rgba(0, 0, 0, .05), 0px 10px 24px -3px rgba(0, 0, 0, .1);
}
[data-theme="dark"] {
  --gray-700: #000000; --gray-800: #000000; --gray-900: #000000; --neutral: #000000;
  --text-neutral: #FFFFFF; --text-muted: #FFFFFF; --text-light: #FFFFFF; --text-color: #FFFFFF; --heading-color: #FFFFFF;
  --bg-color: #000000; --fg-color: #000000; --subtle-accent: #000000; --subtle-fg: #000000; --navbar-bg: #000000; --fg-hover-color: #1a1a1a;
  --card-bg: #000000; --control-bg: #1a1a1a; --modal-bg: #000000; --btn-default-bg: #1a1a1a; --btn-default-hover-bg: #2a2a2a; --btn-primary: #FFFFFF;
  --border-color: #383838; --bg-green: var(--green-900); --bg-gray: #7c7c7c;
  --alert-bg-danger: #3b1515; --alert-text-danger: #f9c6c6; --alert-bg-warning: #3a2c05; --alert-text-warning: #f5e171;
}
* { box-sizing: border-box; }
html, body { margin: 0; }
body { background: var(--bg-color); color: var(--text-color); font-family: var(--font-stack); font-size: var(--text-base); }
.navbar { height: var(--navbar-height); display: flex; align-items: center; gap: 12px; padding: 0 20px; background: var(--navbar-bg); border-bottom: 1px solid var(--border-color); position: sticky; top: 0; z-index: 1020; }
.navbar .brand { font-weight: 700; color: var(--heading-color); }
.navbar .crumbs { color: var(--text-muted); font-size: var(--text-sm); }
.container { max-width: 1200px; margin: 0 auto; padding: 0 20px; }
.page-head { padding: 14px 0 10px; }
.page-head-content { display: flex; align-items: center; gap: 12px; flex-wrap: wrap; }
.page-title { font-size: var(--text-xl); margin: 0; color: var(--heading-color); flex: 1; }
.page-actions { display: flex; gap: 8px; }
.btn { font: inherit; font-size: var(--text-sm); border-radius: var(--border-radius); border: 0; padding: 4px 12px; min-height: 28px; cursor: pointer; background: var(--btn-default-bg); color: var(--text-color); }
.btn-primary { background: var(--btn-primary); color: var(--neutral); }
.btn:focus-visible { outline: none; box-shadow: var(--focus-blue); }
.form-card { background: var(--card-bg); border: 1px solid var(--border-color); border-radius: var(--border-radius-md); padding: 20px; display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 16px; }
.field label { display: block; font-size: var(--text-xs); color: var(--text-muted); margin-bottom: 4px; }
.field div { background: var(--control-bg); border-radius: var(--border-radius); padding: 6px 8px; min-height: 32px; }
.inner-group-button { position: relative; }
.dropdown-menu { position: absolute; right: 0; top: calc(100% + 4px); z-index: 1030; min-width: 160px; padding: 4px; background: var(--modal-bg); border: 1px solid var(--border-color); border-radius: var(--border-radius); box-shadow: var(--shadow-md); }
.dropdown-item { display: block; width: 100%; text-align: left; font: inherit; font-size: var(--text-sm); padding: 6px 10px; border: 0; border-radius: 6px; background: none; color: var(--text-color); cursor: pointer; }
.dropdown-item:hover, .dropdown-item:focus-visible { background: var(--fg-hover-color); outline: none; }
.timeline { margin-top: 20px; color: var(--text-muted); font-size: var(--text-sm); }
@media (max-width: 767px) { .container { padding: 0 12px; } .navbar .crumbs { display: none; } }
`;

/** frappe.boot.voice_agent (voice_agent/telephony/settings.py boot_session) for a Voice Agent User. */
function callingBoot(accounts: { name: string; title: string }[]): Record<string, unknown> {
  return {
    callable_doctypes: ["Lead", "Customer", "Contact", "CRM Lead", "CRM Deal"],
    caller_roles: ["Voice Agent Manager", "Voice Agent User"],
    missing_read_access: null,
    whatsapp_calling_accounts: accounts,
  };
}

function escape(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export interface DeskPageOptions {
  kind: "form" | "inbox";
  theme: "light" | "dark";
  csrf: string;
  user: string;
  party?: PartyRecord;
  /** WhatsApp calling: the boot's calling numbers, the Call button (call_button.js) and, as every desk
   * page has it (app_include_js), the incoming-call popup bundle. */
  calling?: { accounts: { name: string; title: string }[] };
}

export function deskPage(o: DeskPageOptions): string {
  const head = `<!doctype html><html lang="en" data-theme="${o.theme}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${o.kind === "inbox" ? "WhatsApp Inbox" : escape(o.party?.title ?? "")}</title>
<style>${DESK_CSS}</style>
<script>window.__harness = ${JSON.stringify({ csrf: o.csrf, user: o.user, boot: o.calling ? { voice_agent: callingBoot(o.calling.accounts) } : undefined })};</script>
<script src="/harness/frappe.js"></script></head><body>`;
  // app_include_js: at the end of the desk's body, on every page.
  const includes = o.calling ? '\n<script src="/assets/voice_agent/dist/whatsapp_calls.js"></script>' : "";
  if (o.kind === "inbox") {
    return `${head}<header class="navbar"><span class="brand">Voice Agent</span><span class="crumbs">WhatsApp Inbox</span></header>
<div id="page-whatsapp-inbox" class="page-container"></div>
<script>
  // As frappe.views.Page does: the wrapper is frappe.pages[name] before the page's script runs,
  // then on_page_load and on_page_show are called with it.
  frappe.pages["whatsapp-inbox"] = document.getElementById("page-whatsapp-inbox");
</script>
<script src="/harness/page/whatsapp_inbox.js"></script>
<script>
  const wrapper = frappe.pages["whatsapp-inbox"];
  window.__realtimeReady.then(() => {
    wrapper.on_page_load(wrapper);
    wrapper.on_page_show(wrapper);
  });
</script>${includes}</body></html>`;
  }
  const p = o.party as PartyRecord;
  const doc = { name: p.name, title: p.title, mobile_no: p.phone };
  return `${head}<header class="navbar"><span class="brand">Voice Agent</span><span class="crumbs">${escape(p.doctype)} / ${escape(p.name)}</span></header>
<div class="page-head"><div class="container page-head-content"><h1 class="page-title">${escape(p.title)}</h1><div class="page-actions" id="form-actions"></div></div></div>
<div class="container"><div class="form-card">
  <div class="field"><label>${escape(p.doctype)}</label><div>${escape(p.name)}</div></div>
  <div class="field"><label>Name</label><div>${escape(p.title)}</div></div>
  <div class="field"><label>Mobile No</label><div>${escape(p.phone ?? "")}</div></div>
  <div class="field"><label>Status</label><div>Open</div></div>
</div><p class="timeline">Activity · Comments · WhatsApp messages show on this timeline.</p></div>
<script src="/assets/voice_agent/js/whatsapp_panel.js"></script>${o.calling ? '\n<script src="/assets/voice_agent/js/call_button.js"></script>' : ""}
<script>
  const doc = ${JSON.stringify(doc)};
  const frm = {
    doctype: ${JSON.stringify(p.doctype)},
    docname: doc.name,
    doc,
    meta: { title_field: "title" },
    is_new: () => false,
    add_custom_button(label, fn, group) {
      const b = document.createElement("button");
      b.className = group ? "dropdown-item" : "btn btn-default btn-sm";
      b.textContent = label;
      b.addEventListener("click", fn);
      if (!group) {
        document.getElementById("form-actions").append(b);
        return b;
      }
      // As Frappe's inner-group buttons: a dropdown under the group's own button.
      let menu = document.querySelector('[data-group="' + group + '"] .dropdown-menu');
      if (!menu) {
        const wrap = document.createElement("div");
        wrap.className = "inner-group-button";
        wrap.dataset.group = group;
        wrap.innerHTML = '<button type="button" class="btn btn-default btn-sm" aria-haspopup="true" aria-expanded="false"></button><div class="dropdown-menu" role="menu" hidden></div>';
        const toggle = wrap.querySelector("button");
        toggle.textContent = group;
        menu = wrap.querySelector(".dropdown-menu");
        toggle.addEventListener("click", () => {
          menu.hidden = !menu.hidden;
          toggle.setAttribute("aria-expanded", String(!menu.hidden));
        });
        document.getElementById("form-actions").append(wrap);
      }
      b.setAttribute("role", "menuitem");
      b.addEventListener("click", () => (menu.hidden = true));
      menu.append(b);
      return b;
    },
  };
  window.__realtimeReady.then(() => frappe.realtime.doc_subscribe(frm.doctype, frm.docname)).then(() => {
    for (const events of frappe.ui.form.handlers[frm.doctype] || []) events.refresh && events.refresh(frm);
    window.__formReady = true;
  });
</script>${includes}</body></html>`;
}
