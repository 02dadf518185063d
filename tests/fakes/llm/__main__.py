"""python -m tests.fakes.llm [--port N] [--openai-key K] [--anthropic-key K] [--azure-key K]
[--azure-deployment NAME=MODEL ...] [--latency-ms MS] [--no-echo]

Prints one JSON line ({"base_url", "openai_base_url", "anthropic_base_url", "azure_endpoint",
"azure_deployments", keys, "control"}) once it listens. Unscripted requests get an echo of the last
user message unless --no-echo; script it over HTTP with POST /_fake/script {"steps": [...]}."""

import argparse
import json

from .. import serve_until_stopped
from . import FakeLLM, Respond, echo


def main() -> None:
    parser = argparse.ArgumentParser(description="Loopback fake of the OpenAI and Anthropic chat APIs")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--openai-key", default="test-openai-key")
    parser.add_argument("--anthropic-key", default="test-anthropic-key")
    parser.add_argument("--azure-key", default="test-azure-key")
    parser.add_argument("--azure-deployment", action="append", default=[], metavar="NAME=MODEL",
                        help="an Azure deployment and the model it serves (repeatable)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="every answer takes this long")
    parser.add_argument("--no-echo", action="store_true", help="answer unscripted requests with a 400")
    args = parser.parse_args()
    deployments = dict(d.split("=", 1) for d in args.azure_deployment) or None
    fake = FakeLLM(args.host, args.port, openai_key=args.openai_key, anthropic_key=args.anthropic_key,
                   azure_key=args.azure_key, azure_deployments=deployments, latency_ms=args.latency_ms,
                   default=None if args.no_echo else Respond(echo))
    fake.start()
    print(json.dumps(fake.describe()), flush=True)
    serve_until_stopped(fake)


if __name__ == "__main__":
    main()
