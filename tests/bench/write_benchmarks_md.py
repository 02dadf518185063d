"""Refresh the "## Frappe endpoints" section of docs/benchmarks.md from docs/benchmarks/frappe.json,
leaving every other section as it is."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEADING = "## Frappe endpoints"


def section(report: dict) -> str:
    r, v = report["results"], report["verdicts"]
    rows = "\n".join(
        f"| {k} | {x['p50_ms']} | {x['p95_ms']} | {x['p99_ms']} |" for k, x in r.items()
    )
    checks = "\n".join(
        f"- {k}: p95 {x['p95_ms']} ms vs target {x['target_ms']} ms → {'met' if x['meets_target'] else 'NOT met'}; "
        f"{x['ratio_to_bare']}× bare → {'met' if x['within_2x_bare'] else 'NOT met'}"
        for k, x in v.items()
    )
    rest_note = ""
    if "ratio_to_frappe_rest_insert" in v.get("tool_endpoint", {}):
        rest = r["frappe_rest_insert_issue"]
        rest_note = (
            f"\nThe tool creates an ERPNext Issue before it answers, so it cannot be cheaper than creating one: "
            f"Frappe's own REST insert of the same Issue took p95 {rest['p95_ms']} ms "
            f"({round(rest['p95_ms'] / max(r['bare_get_logged_user']['p95_ms'], r['bare_get_logged_user_after']['p95_ms']), 2)}× bare) "
            f"in this run, and the tool is {v['tool_endpoint']['ratio_to_frappe_rest_insert']}× that, with its session "
            f"check, idempotency key and log included.\n"
        )
    return f"""{HEADING}

`.venv/bin/python -m tests.bench.frappe_endpoints` then `.venv/bin/python -m tests.bench.write_benchmarks_md`
(not a test): {report['requests_each']} sequential requests each against {report['site']}
({report['server']}), measured {report['measured_at']} on {report['machine']['cpus']} CPUs; raw
figures in `docs/benchmarks/frappe.json`. Bare = Frappe's own `frappe.auth.get_logged_user` in the
same run (before and after; the worse p95 is the reference). Tool = `create_support_ticket` with the
session secret, a new Issue each time; replay = the same calls again (idempotent, nothing created);
webhook ack = signed `call.started` for distinct calls (verify, store raw, enqueue, 200);
REST insert = `POST /api/resource/Issue` as Administrator, Frappe's own creation of the same document.
Run it against a production-style server (gunicorn, as `bench setup production` configures it) on
a quiet machine: the dev server's file watcher takes a core of its own.

| endpoint | p50 ms | p95 ms | p99 ms |
| --- | --- | --- | --- |
{rows}

Targets: tool p95 ≤ 100 ms, webhook ack p95 ≤ 50 ms, each ≤ 2× bare.

{checks}
{rest_note}"""


def replace_section(heading: str, new: str) -> None:
    """docs/benchmarks.md with the section under `heading` replaced by `new` (or added), the rest kept."""
    path = ROOT / "docs/benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: new + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + new
    path.write_text(text)
    print(f"updated {path.relative_to(ROOT)}")


def main() -> None:
    replace_section(HEADING, section(json.loads((ROOT / "docs/benchmarks/frappe.json").read_text())))


if __name__ == "__main__":
    main()
