// Raw desk script (Voice Call form and list): durations as the party's timeline and the call panel
// show them, m:ss or h:mm:ss from one hour, in whole seconds rounded down. The rounding is Frappe's own
// for Duration fields (frappe.utils.seconds_to_duration), the rule voice_agent/calling/display.py and
// frontend/shared/duration.ts follow (contracts/vectors/durations.json).
(function () {
	const ns = (window.voice_agent = window.voice_agent || {});
	if (ns.format_call_duration) return;

	const pad = (n) => String(n).padStart(2, "0");

	ns.CALL_DURATION_FIELDS = ["ring_duration", "talk_duration", "total_duration", "whatsapp_duration"];
	ns.format_call_duration = function (seconds) {
		const d = frappe.utils.seconds_to_duration(Math.max(0, Number(seconds) || 0), { hide_days: 1 });
		return d.hours ? `${d.hours}:${pad(d.minutes)}:${pad(d.seconds)}` : `${d.minutes}:${pad(d.seconds)}`;
	};
})();
