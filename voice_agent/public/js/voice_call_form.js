// Thin doctype_js for the Voice Call form: durations as m:ss (call_durations.js), an ended call is
// read-only (nothing in it can change any more), and a record the user may not read says so instead of
// a link that answers "No permission for Page". What the form shows comes from VoiceCall.onload.
(function () {
	const ns = (window.voice_agent = window.voice_agent || {});
	if (ns.voice_call_form_bound) return;
	ns.voice_call_form_bound = true;

	frappe.ui.form.on("Voice Call", {
		refresh(frm) {
			for (const fieldname of ns.CALL_DURATION_FIELDS) {
				const field = frm.fields_dict[fieldname];
				if (field && !field.df.formatter) {
					field.df.formatter = (value) => ns.format_call_duration(value);
					frm.refresh_field(fieldname);
				}
			}
			const onload = frm.doc.__onload || {};
			if (onload.ended) frm.disable_form();
			frm.set_intro(
				onload.reference_access ? frappe.utils.escape_html(onload.reference_access) : "",
				"orange"
			);
		},
	});
})();
