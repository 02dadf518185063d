"""bench commands of this app."""

from __future__ import annotations

import importlib

import click

# What this app's jobs run, and the documents they load: imported once in the worker, before it forks a
# work horse for each job, instead of in every horse. Frappe's worker imports none of an app's code,
# so each job paid about half a second of imports before doing anything (docs/benchmarks.md, WhatsApp
# bot): more than the rest of a bot's reply besides the model.
PRELOAD = (
    "frappe.model.document",
    "frappe.query_builder",
    "frappe.database.query",
    "frappe.utils.typing_validations",
    "frappe.desk.form.assign_to",
    "frappe.desk.doctype.notification_log.notification_log",
    # Imported on first use by what the jobs call (a filtered get_all imports frappe.boot; passwords,
    # notifications, assignment rules, ERPNext's SLA on a new Issue, users): measured, ~0.1 s more.
    "frappe.boot",
    "frappe.utils.password",
    "frappe.email.doctype.notification.notification",
    "frappe.automation.doctype.assignment_rule.assignment_rule",
    "erpnext.support.doctype.service_level_agreement.service_level_agreement",
    "frappe.utils.safe_exec",
    "frappe.core.doctype.user.user",
    "voice_agent.integrations.whatsapp.webhook",
    "voice_agent.integrations.whatsapp.outbound",
    "voice_agent.integrations.whatsapp.media",
    "voice_agent.conversations.bot",
    "voice_agent.integrations.ultravox.webhook",
    "voice_agent.integrations.sidecar.intake",
    "voice_agent.voice_agent.doctype.whatsapp_conversation.whatsapp_conversation",
    "voice_agent.voice_agent.doctype.whatsapp_message.whatsapp_message",
    "voice_agent.voice_agent.doctype.whatsapp_webhook_event.whatsapp_webhook_event",
    "voice_agent.voice_agent.doctype.voice_interaction.voice_interaction",
    "voice_agent.voice_agent.doctype.lead_score_change.lead_score_change",
    "voice_agent.voice_agent.doctype.voice_call.voice_call",
)


@click.command("voice-agent-worker")
@click.option("--queue", type=str, help="Queue(s) to consume, comma-separated (default: all)")
@click.option("--quiet", is_flag=True, default=False, help="Hide the log output")
@click.option("--burst", is_flag=True, default=False, help="Run until the queues are empty, then exit")
def voice_agent_worker(queue: str | None = None, quiet: bool = False, burst: bool = False) -> None:
    """Frappe's background worker (`bench worker`), with this app's job code imported before it forks
    for each job: the WhatsApp webhook and the bot start their work at once. Use it in place of
    `bench worker` (same options) in the Procfile or the process manager."""
    from frappe.utils.background_jobs import start_worker

    for module in PRELOAD:
        try:
            importlib.import_module(module)
        except ImportError as exc:  # an app or doctype this site lacks: its jobs import it as usual
            click.echo(f"voice-agent-worker: not preloaded: {module} ({exc})", err=True)
    start_worker(queue, quiet=quiet, burst=burst)


commands = [voice_agent_worker]
