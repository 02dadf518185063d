// Thin doctype_js loader for Voice Call: a Voice Agent Manager can listen in
// to (or talk in) a live call; the call panel bundle is loaded on demand.
(function () {
	const ns = (window.voice_agent = window.voice_agent || {});
	if (ns.supervise_button_bound) return;
	ns.supervise_button_bound = true;

	const PANEL_ASSET = "/assets/voice_agent/dist/call_panel.js";
	const LIVE = ["ringing", "connecting", "connected", "on_hold", "reconnecting"];

	function open(frm, listen_only) {
		const go = () =>
			ns.open_call_panel({
				supervise_call: frm.docname,
				listen_only: listen_only,
				title: listen_only ? __("Listening in: {0}", [frm.docname]) : __("In call: {0}", [frm.docname]),
			});
		if (ns.open_call_panel) go();
		else frappe.require(PANEL_ASSET, go);
	}

	// The sidecar's reports reach Frappe while the form is open: show them without a manual reload.
	frappe.realtime.on("voice_call_update", (data) => {
		const frm = window.cur_frm;
		if (!frm || frm.doctype !== "Voice Call" || frm.docname !== data.call || frm.is_dirty()) return;
		frm.reload_doc();
	});

	frappe.ui.form.on("Voice Call", {
		refresh(frm) {
			if (!frappe.user.has_role("Voice Agent Manager")) return;
			if (!LIVE.includes((frm.doc.state || "").toLowerCase())) return;
			frm.add_custom_button(__("Listen in"), () => open(frm, true), __("Supervise"));
			frm.add_custom_button(__("Join and talk"), () => open(frm, false), __("Supervise"));
		},
	});
})();
