frappe.ui.form.on("WhatsApp Account", {
	refresh(frm) {
		if (frm.is_new()) return;
		const webhook = `${frappe.urllib.get_base_url()}/api/method/voice_agent.api.whatsapp.whatsapp_webhook`;
		frm.set_intro(
			__("In Meta's app dashboard, set the webhook's Callback URL to {0} with this account's Verify Token, and subscribe to the messages field.", [
				`<code>${frappe.utils.escape_html(webhook)}</code>`,
			]),
			frm.doc.status === "Connected" ? "blue" : "orange",
		);
		frm.add_custom_button(__("Open inbox"), () => frappe.set_route("whatsapp-inbox"));
		if (!frappe.user.has_role(["Voice Agent Manager", "System Manager"])) return;
		frm.add_custom_button(__("Test connection"), () => run(frm, "test_connection", __("Asking Meta about this number…"), show_connection));
		frm.add_custom_button(__("Sync templates"), () => run(frm, "sync_templates", __("Reading the templates of this WhatsApp Business Account…"), show_sync));
	},
});

// Both actions use the saved credentials.
function run(frm, method, freeze_message, show) {
	if (frm.is_dirty()) {
		frappe.msgprint(__("Save the account first: the check uses the saved values."));
		return;
	}
	frappe
		.call({ method: `voice_agent.api.whatsapp.${method}`, args: { account: frm.doc.name }, freeze: true, freeze_message })
		.then((r) => {
			show(r.message);
			frm.reload_doc();
		});
}

function show_connection(result) {
	frappe.msgprint({
		title: result.ok ? __("Connected") : __("Not connected"),
		indicator: result.ok ? "green" : "red",
		message: frappe.utils.escape_html(result.message),
	});
}

function show_sync(result) {
	frappe.show_alert(
		{
			message: __("Templates synced: {0} new, {1} updated, {2} removed.", [result.created, result.updated, result.deleted]),
			indicator: "green",
		},
		7,
	);
}
