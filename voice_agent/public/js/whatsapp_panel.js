// Thin doctype_js loader (Frappe embeds it raw): a WhatsApp button on the forms of the records a
// conversation links to, which lazy-loads /assets/voice_agent/dist/whatsapp_panel.js and opens the
// record's WhatsApp panel in a side drawer (docs/whatsapp-desk.md).
(function () {
	const ns = (window.voice_agent = window.voice_agent || {});
	if (ns.whatsapp_button_bound) return;
	ns.whatsapp_button_bound = true;

	const PANEL_ASSET = "/assets/voice_agent/dist/whatsapp_panel.js";
	const DOCTYPES = ["Lead", "Contact", "Customer", "CRM Lead"];
	const ROLES = ["Voice Agent User", "Voice Agent Manager", "System Manager"];

	function load_panel() {
		if (ns.open_whatsapp_panel) return Promise.resolve();
		return new Promise((resolve) => frappe.require(PANEL_ASSET, resolve));
	}

	function add_whatsapp_button(frm) {
		if (frm.is_new() || !ROLES.some((role) => frappe.user.has_role(role))) return;
		frm.add_custom_button(__("WhatsApp"), () => {
			load_panel().then(() =>
				ns.open_whatsapp_panel({
					doctype: frm.doctype,
					name: frm.docname,
					title: frm.doc[frm.meta.title_field] || frm.docname,
				})
			);
		});
	}

	DOCTYPES.forEach((doctype) => frappe.ui.form.on(doctype, { refresh: add_whatsapp_button }));
})();
