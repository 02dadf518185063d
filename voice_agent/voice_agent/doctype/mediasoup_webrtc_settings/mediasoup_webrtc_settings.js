frappe.ui.form.on("MediaSoup WebRTC Settings", {
	refresh(frm) {
		frm.add_custom_button(__("Test connection"), () => test_connection(frm));
	},
});

function test_connection(frm) {
	if (frm.is_dirty()) {
		frappe.msgprint(__("Save the settings first: the test uses the saved values."));
		return;
	}
	frappe.call({
		method: "voice_agent.api.calls.check_mediasoup_status",
		freeze: true,
		freeze_message: __("Contacting the call server…"),
	}).then((r) => {
		const { url, health } = r.message;
		const workers = health.workers
			.map(
				(w) =>
					`<tr><td>${w.pid}</td><td>${w.alive ? __("alive") : __("dead")}</td><td>${w.rooms}</td><td>${
						w.cpuPercent == null ? "" : w.cpuPercent.toFixed(1) + " %"
					}</td></tr>`,
			)
			.join("");
		frappe.msgprint({
			title: __("Call server: {0}", [health.status]),
			indicator: health.status === "ok" ? "green" : "orange",
			message: `<p>${frappe.utils.escape_html(url)} — ${__("version")} ${frappe.utils.escape_html(health.version)},
				${__("up {0} s", [Math.round(health.uptimeSec)])}</p>
				<p>${__("Rooms")}: ${health.rooms} · ${__("Participants")}: ${health.participants}${
					health.outboxPending == null ? "" : ` · ${__("Events waiting for Frappe")}: ${health.outboxPending}`
				}</p>
				<table class="table table-bordered"><thead><tr><th>${__("Worker PID")}</th><th>${__("State")}</th>
				<th>${__("Rooms")}</th><th>${__("CPU")}</th></tr></thead><tbody>${workers}</tbody></table>`,
		});
	});
}
