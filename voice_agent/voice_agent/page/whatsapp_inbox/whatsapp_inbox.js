// Thin page script (Frappe embeds it raw): the WhatsApp shared inbox, lazy-loaded from
// /assets/voice_agent/dist/whatsapp_inbox.js into the page. /app/whatsapp-inbox/<conversation>
// opens that conversation (docs/whatsapp-desk.md).
frappe.pages["whatsapp-inbox"].on_page_load = function (wrapper) {
	const page = frappe.ui.make_app_page({
		parent: wrapper,
		title: __("WhatsApp Inbox"),
		single_column: true,
	});
	const container = document.createElement("div");
	container.className = "voice-agent-whatsapp-inbox";
	page.main.get(0).appendChild(container);
	frappe.require("/assets/voice_agent/dist/whatsapp_inbox.js", () => {
		wrapper.whatsapp_inbox = window.voice_agent.mount_whatsapp_inbox(container, {
			conversation: frappe.get_route()[1] || null,
		});
	});
};

frappe.pages["whatsapp-inbox"].on_page_show = function (wrapper) {
	const conversation = frappe.get_route()[1];
	if (conversation && wrapper.whatsapp_inbox) wrapper.whatsapp_inbox.open(conversation);
};
