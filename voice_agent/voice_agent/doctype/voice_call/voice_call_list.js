const VOICE_CALL_STATE_COLORS = {
	created: "gray",
	ringing: "orange",
	connecting: "orange",
	connected: "green",
	on_hold: "yellow",
	reconnecting: "yellow",
	ended: "blue",
	missed: "red",
	failed: "red",
};

frappe.listview_settings["Voice Call"] = {
	add_fields: ["state", "end_reason"],
	get_indicator(doc) {
		return [__(doc.state), VOICE_CALL_STATE_COLORS[doc.state] || "gray", `state,=,${doc.state}`];
	},
	filters: [["started_at", "Timespan", "this month"]],
	// As the form and the timeline show them (public/js/call_durations.js, added by hooks.py).
	formatters: {
		ring_duration: (value) => voice_agent.format_call_duration(value),
		talk_duration: (value) => voice_agent.format_call_duration(value),
		total_duration: (value) => voice_agent.format_call_duration(value),
		whatsapp_duration: (value) => voice_agent.format_call_duration(value),
	},
	onload(listview) {
		// A caller who may not read the records calls are made from meets "No permission for Page" there.
		const boot = frappe.boot.voice_agent || {};
		if (boot.missing_read_access && boot.caller_roles.some((role) => frappe.user.has_role(role))) {
			listview.page.add_inner_message(frappe.utils.escape_html(boot.missing_read_access));
		}
	},
};
