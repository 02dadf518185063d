// Thin doctype_js for the Voice Call form: durations as m:ss (call_durations.js), an ended call is
// read-only (nothing in it can change any more), a record the user may not read says so instead of
// a link that answers "No permission for Page", and each participant's quality (the WhatsApp leg's
// among them) under the participants. What the form shows comes from VoiceCall.onload and the rows.
(function () {
	const ns = (window.voice_agent = window.voice_agent || {});
	if (ns.voice_call_form_bound) return;
	ns.voice_call_form_bound = true;

	const ROLE_LABELS = {
		agent: () => __("Agent"),
		customer: () => __("Customer"),
		supervisor: () => __("Supervisor"),
		whatsapp: () => __("WhatsApp leg"),
	};
	const role_label = (role) => (ROLE_LABELS[role] ? ROLE_LABELS[role]() : role || "");
	const format_role = (value) => frappe.utils.escape_html(role_label(value));
	const QUALITY_COLORS = { Excellent: "green", Good: "green", Fair: "orange", Poor: "red", Bad: "red" };

	function figure(value, precision, unit) {
		return `${format_number(value || 0, null, precision)} ${unit}`;
	}

	function render_participants_quality(frm) {
		const field = frm.fields_dict.participants_quality;
		if (!field) return;
		const rows = (frm.doc.participants || []).filter((row) => row.quality_samples > 0);
		if (!rows.length) {
			field.$wrapper.empty();
			return;
		}
		const esc = frappe.utils.escape_html;
		const body = rows
			.map((row) => {
				const name = row.display_name || row.participant_id;
				const label = row.quality_label
					? `<span class="indicator-pill ${QUALITY_COLORS[row.quality_label] || "gray"}">${esc(__(row.quality_label))}</span>`
					: "";
				return `<tr data-participant="${esc(row.participant_id)}" data-role="${esc(row.role)}">
					<td><div class="bold">${esc(role_label(row.role))}</div><div class="text-muted small">${esc(name)}</div></td>
					<td class="text-right">${figure(row.avg_packet_loss, 2, "%")}</td>
					<td class="text-right">${figure(row.avg_jitter_ms, 1, "ms")}</td>
					<td class="text-right">${row.avg_rtt_ms ? figure(row.avg_rtt_ms, 0, "ms") : "–"}</td>
					<td class="text-right">${figure(row.avg_bitrate_kbps, 1, "kbps")}</td>
					<td class="text-right">${format_number(row.mos || 0, null, 2)}</td>
					<td>${label}</td>
				</tr>`;
			})
			.join("");
		// The WhatsApp leg's figures are its two halves: what reaches us from Meta, and what Meta reports receiving.
		const note = rows.some((row) => row.role === "whatsapp")
			? `<p class="text-muted small">${esc(
					__("WhatsApp leg: loss and jitter are averaged over the audio received from Meta and Meta's own reports of the audio it receives; RTT is measured to Meta.")
			  )}</p>`
			: "";
		field.$wrapper.html(`
			<div class="va-participants-quality">
				<div class="control-label">${esc(__("Quality by Participant"))}</div>
				<table class="table table-bordered table-sm">
					<thead><tr>
						<th>${esc(__("Participant"))}</th>
						<th class="text-right">${esc(__("Packet Loss"))}</th>
						<th class="text-right">${esc(__("Jitter"))}</th>
						<th class="text-right">${esc(__("RTT"))}</th>
						<th class="text-right">${esc(__("Bitrate"))}</th>
						<th class="text-right">${esc(__("MOS"))}</th>
						<th>${esc(__("Quality"))}</th>
					</tr></thead>
					<tbody>${body}</tbody>
				</table>
				${note}
			</div>`);
	}

	frappe.ui.form.on("Voice Call", {
		refresh(frm) {
			for (const fieldname of ns.CALL_DURATION_FIELDS) {
				const field = frm.fields_dict[fieldname];
				if (field && !field.df.formatter) {
					field.df.formatter = (value) => ns.format_call_duration(value);
					frm.refresh_field(fieldname);
				}
			}
			// Each grid row has its own copy of the docfields: a row new since the last refresh has no formatter yet.
			const grid = frm.fields_dict.participants && frm.fields_dict.participants.grid;
			if (grid && (grid.grid_rows || []).some((row) => row.docfields.find((df) => df.fieldname === "role").formatter !== format_role)) {
				grid.update_docfield_property("role", "formatter", format_role);
				frm.refresh_field("participants");
			}
			render_participants_quality(frm);
			const onload = frm.doc.__onload || {};
			if (onload.ended) frm.disable_form();
			frm.set_intro(
				onload.reference_access ? frappe.utils.escape_html(onload.reference_access) : "",
				"orange"
			);
		},
	});
})();
