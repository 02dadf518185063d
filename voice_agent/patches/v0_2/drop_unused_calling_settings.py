"""MediaSoup WebRTC Settings no longer has RTC ports, worker pool size or codec preferences: the
sidecar's own environment sets the first three (docs/sidecar.md) and nothing used the last."""

import frappe


def execute() -> None:
    frappe.db.delete(
        "Singles",
        {
            "doctype": "MediaSoup WebRTC Settings",
            "field": ("in", ("rtc_min_port", "rtc_max_port", "worker_pool_size", "codec_preferences")),
        },
    )
