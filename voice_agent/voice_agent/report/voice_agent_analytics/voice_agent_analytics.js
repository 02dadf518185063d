frappe.query_reports["Voice Agent Analytics"] = {
	filters: [
		{
			fieldname: "from_date",
			label: __("From Date"),
			fieldtype: "Date",
			default: frappe.datetime.add_months(frappe.datetime.get_today(), -1),
			reqd: 1,
		},
		{
			fieldname: "to_date",
			label: __("To Date"),
			fieldtype: "Date",
			default: frappe.datetime.get_today(),
			reqd: 1,
		},
		{
			fieldname: "profile",
			label: __("Profile"),
			fieldtype: "Link",
			options: "Voice Agent Profile",
		},
	],
	formatter(value, row, column, data, default_formatter) {
		// The last row is the period's total (computed from its counts, see voice_agent_analytics.py).
		if (data && data.is_total_row) {
			const text =
				column.fieldname === "profile"
					? frappe.utils.escape_html(value)
					: default_formatter(value, row, column, data);
			return `<b>${text}</b>`;
		}
		if (column.fieldname === "profile" && !value) {
			return `<span class="text-muted">${__("No profile")}</span>`;
		}
		return default_formatter(value, row, column, data);
	},
};
