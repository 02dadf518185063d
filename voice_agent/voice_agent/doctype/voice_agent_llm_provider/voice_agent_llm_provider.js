const DEFAULT_BASE_URLS = {
	"OpenAI-compatible": "https://api.openai.com/v1",
	Anthropic: "https://api.anthropic.com",
	"Azure OpenAI": "",
};

frappe.ui.form.on("Voice Agent LLM Provider", {
	refresh(frm) {
		if (frm.is_new()) return;
		frm.add_custom_button(__("Test connection"), () => test_connection(frm));
	},
	kind(frm) {
		// A base URL left at another kind's default follows the kind; one typed in stays.
		if (!frm.doc.base_url || Object.values(DEFAULT_BASE_URLS).includes(frm.doc.base_url)) {
			frm.set_value("base_url", DEFAULT_BASE_URLS[frm.doc.kind] || "");
		}
	},
});

function test_connection(frm) {
	if (frm.is_dirty()) {
		frappe.msgprint(__("Save the provider first: the test uses the saved values."));
		return;
	}
	frappe
		.call({
			method: "voice_agent.api.llm.test_provider_connection",
			args: { provider: frm.doc.name },
			freeze: true,
			freeze_message: __("Sending a short test message to the model…"),
		})
		.then((r) => {
			const result = r.message;
			frappe.msgprint({
				title: result.ok ? __("Connected") : __("Not connected"),
				indicator: result.ok ? "green" : "red",
				message: frappe.utils.escape_html(result.message),
			});
			frm.reload_doc();
		});
}
