// Thin doctype_js loader (Frappe embeds it raw): a Call button on the forms of the callable doctypes
// (hooks: voice_agent_callable_doctypes, sent in frappe.boot.voice_agent) that lazy-loads the call panel.
// With WhatsApp numbers the user may call from (boot: whatsapp_calling_accounts), Call is a group:
// a browser call, or a WhatsApp call (the panel first shows the customer's call permission).
(function () {
	const ns = (window.voice_agent = window.voice_agent || {});
	if (ns.call_button_bound) return;
	ns.call_button_bound = true;

	const PANEL_ASSET = "/assets/voice_agent/dist/call_panel.js";
	const boot = (frappe.boot && frappe.boot.voice_agent) || { callable_doctypes: [], caller_roles: [] };

	function load_panel() {
		if (ns.open_call_panel) return Promise.resolve();
		return new Promise((resolve) => frappe.require(PANEL_ASSET, resolve));
	}

	function can_call() {
		return boot.caller_roles.some((role) => frappe.user.has_role(role));
	}

	function open_panel(frm, options) {
		const title = frm.doc[frm.meta.title_field] || frm.docname;
		load_panel().then(() =>
			ns.open_call_panel(
				Object.assign(
					{ reference_doctype: frm.doctype, reference_name: frm.docname, title: __("Call {0}", [title]) },
					options(title)
				)
			)
		);
	}

	function add_call_button(frm) {
		if (frm.is_new() || !can_call()) return;
		const accounts = boot.whatsapp_calling_accounts || [];
		if (!accounts.length) {
			frm.add_custom_button(__("Call"), () => open_panel(frm, () => ({}))).addClass("btn-primary-light");
			return;
		}
		frm.add_custom_button(__("Browser call"), () => open_panel(frm, () => ({})), __("Call"));
		frm.add_custom_button(
			__("WhatsApp call"),
			() =>
				open_panel(frm, (title) => ({
					channel: "whatsapp",
					whatsapp_accounts: accounts,
					title: __("WhatsApp: {0}", [title]),
				})),
			__("Call")
		);
	}

	boot.callable_doctypes.forEach((doctype) => frappe.ui.form.on(doctype, { refresh: add_call_button }));
})();
