// Frappe desk CSS variables first, with fallbacks for pages outside the desk (the invite page).
export const PANEL_CSS = `
.va-call-panel {
  --va-bg: var(--card-bg, #fff);
  --va-fg: var(--text-color, #1f272e);
  --va-muted: var(--text-muted, #6b7280);
  --va-border: var(--border-color, #e2e6e9);
  --va-subtle: var(--subtle-fg, #f3f3f3);
  --va-primary: var(--primary, #2490ef);
  --va-green: var(--green-500, #30a66d);
  --va-orange: var(--orange-500, #e79913);
  --va-red: var(--red-500, #e24c4c);
  box-sizing: border-box;
  width: 360px;
  max-width: calc(100vw - 24px);
  background: var(--va-bg);
  color: var(--va-fg);
  border: 1px solid var(--va-border);
  border-radius: var(--border-radius-lg, 12px);
  box-shadow: var(--shadow-lg, 0 8px 30px rgba(0,0,0,.12));
  font-family: var(--font-stack, -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, sans-serif);
  font-size: 13px;
  padding: 14px 16px 16px;
  display: flex;
  flex-direction: column;
  gap: 12px;
}
.va-call-panel *, .va-call-panel *::before, .va-call-panel *::after { box-sizing: border-box; }
.va-call-floating { position: fixed; right: 16px; bottom: 16px; z-index: 1050; }
.va-call-inline { width: 100%; max-width: 440px; margin: 0 auto; }
.va-cp-head { display: flex; align-items: center; gap: 10px; }
.va-cp-heading { flex: 1; min-width: 0; }
.va-cp-title { font-size: 15px; font-weight: 600; margin: 0; line-height: 1.3; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.va-cp-status { margin: 2px 0 0; color: var(--va-muted); }
.va-cp-timer { font-variant-numeric: tabular-nums; font-size: 18px; font-weight: 600; }
.va-cp-dot { width: 10px; height: 10px; border-radius: 50%; background: var(--va-muted); flex: none; }
.va-call-panel[data-status="ringing"] .va-cp-dot,
.va-call-panel[data-status="connecting"] .va-cp-dot { background: var(--va-primary); animation: va-cp-pulse 1.2s infinite; }
.va-call-panel[data-status="connected"] .va-cp-dot { background: var(--va-green); }
.va-call-panel[data-status="on_hold"] .va-cp-dot,
.va-call-panel[data-status="reconnecting"] .va-cp-dot { background: var(--va-orange); animation: va-cp-pulse 1.2s infinite; }
.va-call-panel[data-status="ended"] .va-cp-dot { background: var(--va-red); }
.va-call-panel[data-status="reconnecting"] .va-cp-status { color: var(--va-orange); font-weight: 600; }
@keyframes va-cp-pulse { 50% { opacity: .35; } }
@media (prefers-reduced-motion: reduce) { .va-cp-dot { animation: none !important; } }
.va-cp-alert { border-radius: var(--border-radius, 8px); padding: 8px 10px; background: var(--va-subtle); }
.va-cp-alert p { margin: 2px 0 0; }
.va-cp-alert-error { background: var(--alert-bg-danger, #fff0f0); color: var(--alert-text-danger, #9b1c1c); }
.va-cp-warning { margin: 0; border-radius: var(--border-radius, 8px); padding: 8px 10px; font-weight: 600;
  background: var(--alert-bg-warning, #fff5e0); color: var(--alert-text-warning, #8a5a00); }
.va-cp-meters { display: flex; flex-direction: column; gap: 6px; }
.va-cp-mic { display: flex; align-items: center; gap: 8px; }
.va-cp-label { color: var(--va-muted); font-size: 12px; }
.va-cp-level { flex: 1; height: 6px; border-radius: 3px; background: var(--va-subtle); overflow: hidden; }
.va-cp-level span { display: block; height: 100%; width: 0; background: var(--va-green); transition: width 90ms linear; }
.va-cp-quality { margin: 0; font-size: 12px; color: var(--va-muted); }
.va-cp-quality::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 6px; background: var(--va-border); }
.va-cp-quality[data-grade="good"]::before { background: var(--va-green); }
.va-cp-quality[data-grade="fair"]::before { background: var(--va-orange); }
.va-cp-quality[data-grade="poor"]::before { background: var(--va-red); }
.va-call-panel[data-status="reconnecting"] .va-cp-quality,
.va-call-panel[data-status="on_hold"] .va-cp-quality { opacity: .5; }
.va-cp-people { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 4px; }
.va-cp-people:empty { display: none; }
.va-cp-people li { display: flex; align-items: center; gap: 6px; }
.va-cp-person { flex: 1; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.va-cp-badge { font-size: 11px; padding: 1px 7px; border-radius: 9px; background: var(--va-subtle); color: var(--va-muted); }
.va-cp-badge-muted { background: var(--alert-bg-warning, #fff5e0); color: var(--alert-text-warning, #8a5a00); }
.va-cp-field { display: flex; flex-direction: column; gap: 4px; margin: 0; }
.va-cp-field select, .va-cp-field input { width: 100%; font: inherit; padding: 5px 8px; border-radius: var(--border-radius, 6px);
  border: 1px solid var(--va-border); background: var(--control-bg, #f4f5f6); color: var(--va-fg); }
.va-cp-invite { display: flex; flex-direction: column; gap: 8px; padding-top: 4px; border-top: 1px solid var(--va-border); }
.va-cp-email { display: flex; align-items: flex-end; gap: 8px; margin: 0; }
.va-cp-email .va-cp-field { flex: 1; }
.va-cp-note { margin: 0; font-size: 12px; color: var(--va-muted); }
.va-cp-note:empty { display: none; }
.va-cp-actions { display: flex; flex-wrap: wrap; gap: 8px; }
.va-call-panel[data-status="ended"] .va-cp-meters,
.va-call-panel[data-status="ended"] .va-cp-field,
.va-call-panel[data-status="ended"] .va-cp-actions .va-btn:disabled { display: none; }
.va-cp-actions .va-btn[hidden], .va-call-panel [hidden] { display: none !important; }
.va-call-panel .va-btn { font: inherit; cursor: pointer; padding: 5px 12px; border-radius: var(--border-radius, 6px);
  border: 1px solid var(--va-border); background: var(--btn-default-bg, #f4f5f6); color: var(--va-fg); }
.va-call-panel .va-btn[aria-pressed="true"] { background: var(--va-fg); color: var(--va-bg); }
.va-call-panel .va-btn:disabled { opacity: .5; cursor: default; }
.va-call-panel .va-btn-danger { background: var(--va-red); border-color: var(--va-red); color: #fff; margin-left: auto; }
.va-call-panel .va-btn:focus-visible { outline: 2px solid var(--va-primary); outline-offset: 2px; }
/* The WhatsApp mode before the call (whatsapp-setup.ts). */
.va-wa-perm { display: grid; grid-template-columns: auto 1fr; gap: 4px 12px; margin: 0; }
.va-wa-perm dd { margin: 0; }
.va-call-panel[data-permission="permanent"] [data-ref="permState"],
.va-call-panel[data-permission="temporary"] [data-ref="permState"] { font-weight: 600; }
.va-wa-notes { margin: 0; padding-left: 18px; color: var(--va-muted); font-size: 12px; display: flex; flex-direction: column; gap: 2px; }
.va-wa-notes:empty { display: none; }
.va-wa-from { margin: 0; }
.va-call-panel[data-status="ready"] .va-cp-dot { background: var(--va-green); }
.va-call-panel[data-status="waiting"] .va-cp-dot { background: var(--va-orange); }
.va-call-panel .va-btn-call:not(:disabled) { background: var(--green-600, #30a66d); border-color: var(--green-600, #30a66d); color: #fff; font-weight: 600; }
.va-call-panel .va-btn-close { margin-left: auto; }
`;
