// Styles of the WhatsApp panel and inbox: Frappe's desk CSS variables (light and dark themes),
// with fallbacks for pages outside the desk. Injected once per page.
const CSS = `
.va-wa {
  --va-bg: var(--card-bg, #fff);
  --va-fg: var(--text-color, #383838);
  --va-heading: var(--heading-color, #171717);
  --va-muted: var(--text-muted, #525252);
  --va-light: var(--text-light, #7c7c7c);
  --va-border: var(--border-color, #ededed);
  --va-subtle: var(--subtle-fg, #f3f3f3);
  --va-control: var(--control-bg, #f3f3f3);
  --va-hover: var(--fg-hover-color, #f3f3f3);
  --va-primary: var(--primary, #171717);
  --va-out: var(--bg-green, #e4f5e9);
  --va-read: var(--blue-500, #0289f7);
  --va-red: var(--red-500, #e03636);
  --va-red-text: var(--alert-text-danger, #cc2929);
  --va-red-bg: var(--alert-bg-danger, #fff7f7);
  --va-warn-text: var(--alert-text-warning, #ab6e05);
  --va-warn-bg: var(--alert-bg-warning, #fffcef);
  --va-green: var(--green-600, #30a66d);
  --va-radius: var(--border-radius, 8px);
  --va-focus: var(--focus-blue, 0 0 0 2px #65b9fc);
  color: var(--va-fg);
  font-family: var(--font-stack, -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, sans-serif);
  font-size: var(--text-base, 14px);
  line-height: 1.45;
  box-sizing: border-box;
}
.va-wa *, .va-wa *::before, .va-wa *::after { box-sizing: border-box; }
.va-wa [hidden] { display: none !important; }
.va-wa-sr { position: absolute !important; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.va-wa-icon { flex: none; vertical-align: -3px; }
.va-wa p { margin: 0; }
.va-wa :focus-visible { outline: none; box-shadow: var(--va-focus); }
.va-wa .va-wa-btn { display: inline-flex; align-items: center; justify-content: center; gap: 6px; font: inherit; font-size: var(--text-sm, 13px);
  line-height: 1.2; min-height: 28px; padding: 4px 10px; border-radius: var(--va-radius); border: 1px solid transparent; cursor: pointer;
  background: var(--btn-default-bg, #f3f3f3); color: var(--va-fg); white-space: nowrap; box-shadow: none; }
.va-wa .va-wa-btn:hover { background: var(--btn-default-hover-bg, #e2e2e2); }
.va-wa .va-wa-btn.btn-xs { min-height: 24px; padding: 2px 8px; font-size: var(--text-xs, 12px); }
.va-wa .va-wa-btn-primary { background: var(--btn-primary, #171717); color: var(--neutral, #fff); }
.va-wa .va-wa-btn-primary:hover { background: var(--btn-primary, #171717); opacity: .9; }
.va-wa .va-wa-btn[aria-disabled="true"], .va-wa .va-wa-btn:disabled { opacity: .55; cursor: default; }
.va-wa .va-wa-btn[data-incomplete="true"] { opacity: .7; }
.va-wa .va-wa-btn[aria-busy="true"] { opacity: .7; cursor: progress; }
.va-wa .va-wa-icon-btn { padding: 4px; min-width: 28px; }
.va-wa .va-wa-btn:focus-visible { box-shadow: var(--va-focus); }
.va-wa .va-wa-input { font: inherit; font-size: var(--text-base, 14px); width: 100%; min-height: 32px; padding: 5px 8px; color: var(--va-fg);
  background: var(--va-control); border: 1px solid transparent; border-radius: var(--va-radius); }
.va-wa .va-wa-input:focus { outline: none; border-color: var(--gray-500, #999); box-shadow: var(--va-focus); background: var(--va-bg); }
.va-wa .va-wa-input[aria-invalid="true"] { border-color: var(--va-red); }
.va-wa .va-wa-label { display: block; font-size: var(--text-xs, 12px); color: var(--va-muted); margin: 0 0 4px; font-weight: 500; }
.va-wa .va-wa-note { color: var(--va-muted); font-size: var(--text-sm, 13px); }
.va-wa .va-wa-muted { color: var(--va-light); }
.va-wa .va-wa-problem { color: var(--va-red-text); font-size: var(--text-xs, 12px); min-height: 0; margin-top: 2px; }
.va-wa .va-wa-problem:empty { display: none; }
.va-wa .va-wa-alert { border-radius: var(--va-radius); padding: 6px 10px; font-size: var(--text-sm, 13px); }
.va-wa .va-wa-alert-error { background: var(--va-red-bg); color: var(--va-red-text); }
.va-wa .va-wa-state { color: var(--va-muted); padding: 16px; text-align: center; font-size: var(--text-sm, 13px); }
.va-wa .va-wa-badge { display: inline-flex; align-items: center; justify-content: center; min-width: 18px; height: 18px; padding: 0 5px;
  border-radius: 9px; background: var(--va-green); color: #fff; font-size: 11px; font-weight: 600; }

/* conversation */
.va-wa-conv { display: flex; flex-direction: column; min-height: 0; height: 100%; background: var(--va-bg); }
.va-wa-conv-head { display: flex; align-items: flex-start; gap: 8px; padding: 10px 12px; border-bottom: 1px solid var(--va-border); flex-wrap: wrap; }
.va-wa-conv-heading { flex: 1 1 160px; min-width: 0; }
.va-wa-conv-title { font-size: var(--text-lg, 16px); font-weight: 600; color: var(--va-heading); margin: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.va-wa-conv-sub { font-size: var(--text-xs, 12px); color: var(--va-muted); overflow-wrap: anywhere; }
.va-wa-conv-sub a { color: inherit; text-decoration: underline; }
.va-wa-conv-actions { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; justify-content: flex-end; }
.va-wa-assignee { font-size: var(--text-xs, 12px); color: var(--va-muted); }
.va-wa-window { font-size: var(--text-xs, 12px); padding: 4px 12px; color: var(--va-muted); background: var(--va-subtle); border-bottom: 1px solid var(--va-border); }
.va-wa-window[data-open="false"] { color: var(--va-warn-text); background: var(--va-warn-bg); }
.va-wa-window[data-soon="true"] { color: var(--va-warn-text); }
.va-wa-bot { font-size: var(--text-xs, 12px); padding: 4px 12px 6px; background: var(--va-subtle); border-bottom: 1px solid var(--va-border); display: flex; flex-direction: column; gap: 2px; }
.va-wa-bot[data-state="Handed over"] { background: var(--va-warn-bg); }
.va-wa-bot-line { display: flex; align-items: center; gap: 8px; justify-content: space-between; flex-wrap: wrap; }
.va-wa-bot-status, .va-wa-bot-detail, .va-wa-bot-note { margin: 0; }
.va-wa-bot-detail, .va-wa-bot-note, .va-wa-bot-cost { color: var(--va-muted); }
.va-wa-score summary { cursor: pointer; font-weight: 600; }
.va-wa-score-reasons, .va-wa-score-history { margin: 4px 0; padding-left: 18px; }
.va-wa-score-history > li { margin-bottom: 4px; }
.va-wa-history { position: relative; flex: 1 1 auto; min-height: 120px; display: flex; }
.va-wa-scroll { flex: 1; overflow-y: auto; padding: 8px 12px 12px; display: flex; flex-direction: column; gap: 2px; overscroll-behavior: contain; }
.va-wa-older { align-self: center; margin: 4px 0 8px; }
.va-wa-start { align-self: center; color: var(--va-light); font-size: var(--text-xs, 12px); margin: 4px 0 8px; }
.va-wa-messages { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 6px; }
.va-wa-msg { position: relative; display: flex; max-width: 100%; border-radius: var(--va-radius); }
.va-wa-msg.va-wa-outbound { justify-content: flex-end; }
.va-wa-msg:focus-visible { box-shadow: var(--va-focus); }
.va-wa-bubble { max-width: min(78%, 520px); padding: 6px 10px 4px; border-radius: 10px; background: var(--va-bg); border: 1px solid var(--va-border);
  overflow-wrap: anywhere; display: flex; flex-direction: column; gap: 4px; }
.va-wa-outbound .va-wa-bubble { background: var(--va-out); border-color: transparent; }
.va-wa-inbound .va-wa-bubble { background: var(--va-subtle); border-color: var(--va-border); }
.va-wa-text { white-space: pre-wrap; }
.va-wa-meta { display: flex; align-items: center; justify-content: flex-end; gap: 6px; font-size: 11px; color: var(--va-light); }
.va-wa-sender { margin-right: auto; max-width: 14em; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.va-wa-ticks { display: inline-flex; color: var(--va-light); }
.va-wa-ticks[data-ticks="read"] { color: var(--va-read); }
.va-wa-ticks[data-ticks="failed"] { color: var(--va-red); }
.va-wa-error { display: flex; gap: 6px; align-items: flex-start; font-size: var(--text-xs, 12px); color: var(--va-red-text); background: var(--va-red-bg);
  border-radius: 6px; padding: 4px 6px; }
.va-wa-error-retrying { color: var(--va-warn-text); background: var(--va-warn-bg); }
.va-wa-quote { margin: 0; padding: 4px 8px; border-left: 3px solid var(--va-green); background: color-mix(in srgb, var(--va-fg) 6%, transparent);
  border-radius: 4px; font-size: var(--text-xs, 12px); color: var(--va-muted); max-height: 4.5em; overflow: hidden; }
.va-wa-kind { font-size: 11px; color: var(--va-muted); display: flex; align-items: center; gap: 4px; }
.va-wa-image { display: block; max-width: 100%; width: 260px; max-height: 260px; object-fit: cover; border-radius: 6px; background: var(--va-control); }
.va-wa-sticker { display: block; width: 120px; height: 120px; object-fit: contain; }
.va-wa-media-link { display: block; border-radius: 6px; }
.va-wa-audio { width: 260px; max-width: 100%; height: 36px; }
.va-wa-video { width: 280px; max-width: 100%; border-radius: 6px; }
.va-wa-doc { display: flex; align-items: center; gap: 8px; padding: 6px 8px; border-radius: 6px; background: color-mix(in srgb, var(--va-fg) 6%, transparent);
  color: var(--va-fg); text-decoration: none; min-width: 0; }
.va-wa-doc:hover { text-decoration: underline; }
.va-wa-doc-name { font-weight: 500; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; min-width: 0; }
.va-wa-doc-size { color: var(--va-light); font-size: 11px; flex: none; }
.va-wa-media-note { display: flex; align-items: center; gap: 6px; font-size: var(--text-xs, 12px); color: var(--va-muted); padding: 6px 8px;
  border-radius: 6px; background: color-mix(in srgb, var(--va-fg) 5%, transparent); }
.va-wa-media-failed { color: var(--va-red-text); }
.va-wa-spinner { width: 12px; height: 12px; border-radius: 50%; border: 2px solid var(--va-border); border-top-color: var(--va-muted); animation: va-wa-spin 1s linear infinite; }
@keyframes va-wa-spin { to { transform: rotate(360deg); } }
@media (prefers-reduced-motion: reduce) { .va-wa-spinner { animation: none; } }
.va-wa-location { display: flex; flex-direction: column; gap: 2px; color: var(--va-fg); }
.va-wa-location-address { font-size: 11px; color: var(--va-muted); }
.va-wa-reaction { display: flex; align-items: center; gap: 6px; font-size: var(--text-sm, 13px); color: var(--va-muted); }
.va-wa-emoji { font-size: 20px; }
.va-wa-options { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 4px; }
.va-wa-options li { text-align: center; padding: 4px 8px; border-radius: 6px; background: var(--va-bg); color: var(--va-read); font-size: var(--text-sm, 13px); }
.va-wa-options li small { display: block; color: var(--va-light); font-size: 11px; }
.va-wa-options li[data-chosen="true"] { font-weight: 600; }
.va-wa-chosen { font-size: 11px; color: var(--va-muted); }
.va-wa-reply-btn { position: absolute; top: 2px; opacity: 0; border: 0; background: var(--va-bg); color: var(--va-muted); border-radius: 50%;
  width: 24px; height: 24px; display: inline-flex; align-items: center; justify-content: center; cursor: pointer; box-shadow: var(--shadow-sm, 0 1px 2px rgba(0,0,0,.1)); }
.va-wa-inbound .va-wa-reply-btn { right: 0; }
.va-wa-outbound .va-wa-reply-btn { left: 0; }
.va-wa-msg:hover .va-wa-reply-btn, .va-wa-msg:focus-within .va-wa-reply-btn, .va-wa-msg:focus .va-wa-reply-btn { opacity: 1; }
.va-wa-new-below { position: absolute; bottom: 8px; left: 50%; transform: translateX(-50%); border: 0; border-radius: 14px; padding: 4px 12px;
  background: var(--btn-primary, #171717); color: var(--neutral, #fff); font: inherit; font-size: var(--text-xs, 12px); cursor: pointer; box-shadow: var(--shadow-md, 0 2px 6px rgba(0,0,0,.2)); }

/* composer */
.va-wa-composer { border-top: 1px solid var(--va-border); padding: 8px 12px 10px; display: flex; flex-direction: column; gap: 6px; background: var(--va-bg); }
.va-wa-compose-row { display: flex; align-items: flex-end; gap: 6px; margin: 0; }
.va-wa-textarea { resize: none; min-height: 36px; max-height: 160px; line-height: 1.4; }
.va-wa-file-input { display: none; }
.va-wa .va-wa-send { min-height: 36px; }
.va-wa-reply-bar, .va-wa-attachment-bar { display: flex; align-items: center; gap: 8px; font-size: var(--text-sm, 13px); min-width: 0; }
.va-wa-reply-bar .va-wa-quote { flex: 1; min-width: 0; }
.va-wa-attachment-bar { padding: 4px 6px; border-radius: var(--va-radius); background: var(--va-subtle); }
.va-wa-attachment-name { flex: 1; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.va-wa-thumb { width: 36px; height: 36px; object-fit: cover; border-radius: 4px; }
.va-wa-closed { border-top: 1px solid var(--va-border); padding: 10px 12px 12px; display: flex; flex-direction: column; gap: 6px; align-items: flex-start;
  background: var(--va-warn-bg); }
.va-wa-closed-title { font-weight: 600; color: var(--va-warn-text); }
.va-wa-closed-text { font-size: var(--text-sm, 13px); color: var(--va-fg); }

/* dialogs */
.va-wa-backdrop { position: fixed; inset: 0; z-index: 1060; background: rgba(0, 0, 0, .35); display: flex; align-items: center; justify-content: center; padding: 16px; }
.va-wa-dialog { background: var(--modal-bg, var(--va-bg)); color: var(--va-fg); border-radius: var(--border-radius-lg, 12px); box-shadow: var(--shadow-2xl, 0 10px 24px rgba(0,0,0,.2));
  width: min(640px, 100%); max-height: calc(100vh - 32px); display: flex; flex-direction: column; }
.va-wa-small-dialog { width: min(420px, 100%); }
.va-wa-dialog-head { display: flex; align-items: center; gap: 8px; padding: 12px 16px; border-bottom: 1px solid var(--va-border); }
.va-wa-dialog-title { flex: 1; font-size: var(--text-lg, 16px); font-weight: 600; margin: 0; color: var(--va-heading); }
.va-wa-dialog-body { padding: 12px 16px; overflow-y: auto; display: flex; flex-direction: column; gap: 10px; }
.va-wa-dialog-body form { display: flex; flex-direction: column; gap: 10px; margin: 0; }
.va-wa-dialog-footer { display: flex; align-items: center; justify-content: flex-end; gap: 8px; padding: 10px 16px; border-top: 1px solid var(--va-border); flex-wrap: wrap; }
.va-wa-tpl-status { margin-right: auto !important; font-size: var(--text-xs, 12px); color: var(--va-muted); }
.va-wa-tpl-grid { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 14px; align-items: start; }
.va-wa-tpl-fields { display: flex; flex-direction: column; gap: 8px; }
.va-wa-tpl-preview { background: var(--va-subtle); border-radius: var(--va-radius); padding: 12px; display: flex; }
.va-wa-preview-bubble { max-width: 100%; width: 100%; background: var(--va-out); border: 0; }
.va-wa-gap { background: var(--yellow-100, #fff7d3); color: var(--yellow-800, #8c5600); border-radius: 3px; padding: 0 2px; }
.va-wa-tpl-media { display: flex; align-items: center; gap: 6px; font-size: var(--text-xs, 12px); color: var(--va-muted); padding: 16px 8px; justify-content: center;
  background: color-mix(in srgb, var(--va-fg) 6%, transparent); border-radius: 6px; }
.va-wa-required { color: var(--va-red); }
.va-wa-kinds, .va-wa-options-set { border: 0; padding: 0; margin: 0; display: flex; flex-direction: column; gap: 6px; }
.va-wa-radio { display: flex; gap: 8px; align-items: flex-start; cursor: pointer; }
.va-wa-radio small { display: block; color: var(--va-muted); }
.va-wa-option-fields { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 8px; }
.va-wa-option-row { display: flex; gap: 6px; }
.va-wa-option-description { margin-top: 4px; }

/* panel and drawer */
.va-wa-panel { display: flex; flex-direction: column; min-height: 0; height: 100%; }
.va-wa-tabs { display: flex; gap: 4px; padding: 8px 12px 0; border-bottom: 1px solid var(--va-border); overflow-x: auto; flex: none; }
.va-wa-tab { display: inline-flex; align-items: center; gap: 6px; border: 0; background: none; font: inherit; font-size: var(--text-sm, 13px); color: var(--va-muted);
  padding: 6px 10px; border-bottom: 2px solid transparent; cursor: pointer; white-space: nowrap; border-radius: 6px 6px 0 0; }
.va-wa-tab[aria-selected="true"] { color: var(--va-heading); border-bottom-color: var(--va-heading); font-weight: 600; }
.va-wa-tab:hover { background: var(--va-hover); }
.va-wa-panel-body { flex: 1; min-height: 0; display: flex; flex-direction: column; }
.va-wa-panel-body > .va-wa-conv { flex: 1; }
.va-wa-start-box { padding: 16px; display: flex; flex-direction: column; gap: 10px; max-width: 480px; margin: 0; }
.va-wa-start-title { font-size: var(--text-lg, 16px); font-weight: 600; margin: 0; color: var(--va-heading); }
.va-wa-drawer { position: fixed; top: var(--navbar-height, 48px); right: 0; bottom: 0; z-index: 1030; width: 440px; max-width: 100vw; display: flex; flex-direction: column;
  background: var(--va-bg); border-left: 1px solid var(--va-border); box-shadow: var(--shadow-2xl, -8px 0 24px rgba(0,0,0,.12)); }
.va-wa-drawer-head { display: flex; align-items: center; gap: 8px; padding: 8px 12px; border-bottom: 1px solid var(--va-border); flex: none; }
.va-wa-drawer-title { flex: 1; min-width: 0; margin: 0; font-size: var(--text-base, 14px); font-weight: 600; color: var(--va-heading); display: flex; align-items: center; gap: 6px;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.va-wa-drawer > .va-wa-panel { flex: 1; }
.va-wa-drawer .va-wa-conv-actions { justify-content: flex-start; }

/* inbox */
.va-wa-inbox { display: grid; grid-template-columns: minmax(300px, 360px) minmax(0, 1fr); height: calc(100vh - var(--navbar-height, 48px) - 100px);
  min-height: 440px; border: 1px solid var(--va-border); border-radius: var(--border-radius-md, 10px); overflow: hidden; background: var(--va-bg); }
.va-wa-inbox-side { display: flex; flex-direction: column; min-height: 0; border-right: 1px solid var(--va-border); }
.va-wa-filters { display: flex; flex-wrap: wrap; gap: 4px; padding: 10px 10px 6px; }
.va-wa-filter { display: inline-flex; align-items: center; gap: 6px; border: 1px solid var(--va-border); background: var(--va-bg); color: var(--va-muted); font: inherit;
  font-size: var(--text-xs, 12px); padding: 3px 9px; border-radius: 14px; cursor: pointer; white-space: nowrap; }
.va-wa-filter[aria-pressed="true"] { background: var(--btn-primary, #171717); color: var(--neutral, #fff); border-color: transparent; }
.va-wa-count { font-weight: 600; }
.va-wa-inbox-tools { display: flex; flex-direction: column; gap: 6px; padding: 0 10px 8px; border-bottom: 1px solid var(--va-border); }
.va-wa-rows-scroll { flex: 1; overflow-y: auto; min-height: 0; }
.va-wa-rows { list-style: none; margin: 0; padding: 0; }
.va-wa-row { display: flex; gap: 10px; width: 100%; text-align: left; border: 0; border-bottom: 1px solid var(--va-border); background: var(--va-bg); color: var(--va-fg);
  font: inherit; padding: 10px 12px; cursor: pointer; }
.va-wa-row:hover { background: var(--va-hover); }
.va-wa-row[aria-current="true"] { background: var(--va-subtle); box-shadow: inset 3px 0 0 var(--va-green); }
.va-wa-row:focus-visible { box-shadow: inset 0 0 0 2px var(--blue-400, #70b6f0); }
.va-wa-avatar { flex: none; width: 36px; height: 36px; border-radius: 50%; display: flex; align-items: center; justify-content: center; font-weight: 600;
  background: var(--bg-gray, #f3f3f3); color: var(--va-muted); }
.va-wa-row-main { flex: 1; min-width: 0; display: flex; flex-direction: column; gap: 2px; }
.va-wa-row-top { display: flex; gap: 8px; align-items: baseline; }
.va-wa-row-title { flex: 1; min-width: 0; font-weight: 500; color: var(--va-heading); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.va-wa-row[data-unread="true"] .va-wa-row-title { font-weight: 700; }
.va-wa-row-time { flex: none; font-size: 11px; color: var(--va-light); }
.va-wa-row[data-unread="true"] .va-wa-row-time { color: var(--va-green); font-weight: 600; }
.va-wa-row-preview { font-size: var(--text-sm, 13px); color: var(--va-muted); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.va-wa-row-bottom { display: flex; gap: 4px; align-items: center; flex-wrap: wrap; }
.va-wa-row-bottom .va-wa-badge { margin-left: auto; }
.va-wa-chip { font-size: 11px; color: var(--va-muted); background: var(--va-subtle); border-radius: 4px; padding: 0 6px; }
.va-wa-more { margin: 8px auto; display: flex; }
.va-wa-inbox-main { min-width: 0; min-height: 0; display: flex; flex-direction: column; }
.va-wa-inbox-main > .va-wa-conv { flex: 1; }
.va-wa-empty { flex: 1; display: flex; flex-direction: column; align-items: center; justify-content: center; gap: 8px; color: var(--va-light); padding: 24px; text-align: center; }
.va-wa .va-wa-btn.va-wa-back { display: none; }
.va-wa-conv[data-window="closed"] .va-wa-reply-btn { display: none; }

@media (max-width: 767px) {
  .va-wa-inbox { grid-template-columns: minmax(0, 1fr); height: calc(100vh - var(--navbar-height, 48px) - 70px); border-radius: 0; border-left: 0; border-right: 0; }
  .va-wa-inbox[data-view="list"] .va-wa-inbox-main { display: none; }
  .va-wa-inbox[data-view="conversation"] .va-wa-inbox-side { display: none; }
  .va-wa-inbox .va-wa-btn.va-wa-back { display: inline-flex; }
  .va-wa-inbox-side { border-right: 0; }
  .va-wa-drawer { width: 100vw; border-left: 0; }
  .va-wa-tpl-grid { grid-template-columns: minmax(0, 1fr); }
  .va-wa-backdrop { padding: 0; align-items: stretch; }
  .va-wa-dialog { max-height: 100vh; border-radius: 0; width: 100%; }
  .va-wa-bubble { max-width: 88%; }
  .va-wa .va-wa-send-label { display: none; }
  .va-wa-conv-actions { justify-content: flex-start; }
}
`;

export function ensureStyles(): void {
  if (document.getElementById("va-wa-styles")) return;
  const style = document.createElement("style");
  style.id = "va-wa-styles";
  style.textContent = CSS;
  document.head.append(style);
}
