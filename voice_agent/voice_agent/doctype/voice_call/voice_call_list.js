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
};
