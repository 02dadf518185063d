"""python -m tests.fakes.whatsapp --port N --token T --phone-number-id ID --waba-id W
[--webhook-url U --app-secret S] [--lookaside-port M]

Prints one JSON line ({"base_url", "lookaside_url", "token", "phone_number_id", "waba_id",
"display_phone_number", "media_hosts", "control", "webhook_url"}) once both servers listen."""

import argparse
import json

from .. import serve_until_stopped
from . import FakeWhatsApp


def main() -> None:
    parser = argparse.ArgumentParser(description="Loopback fake of Meta's Graph API for WhatsApp")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="Graph API port (0: any free port)")
    parser.add_argument("--lookaside-port", type=int, default=0, help="media download port (0: any free port)")
    parser.add_argument("--lookaside-host", default="localhost", help="host name media URLs use")
    parser.add_argument("--token", default="test-token")
    parser.add_argument("--phone-number-id", default="106540352242922")
    parser.add_argument("--waba-id", default="102290129340398")
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--app-secret", default=None)
    args = parser.parse_args()
    fake = FakeWhatsApp(args.host, args.port, token=args.token, phone_number_id=args.phone_number_id,
                        waba_id=args.waba_id, webhook_url=args.webhook_url, app_secret=args.app_secret,
                        lookaside_host=args.lookaside_host, lookaside_port=args.lookaside_port)
    fake.start()
    print(json.dumps(fake.describe()), flush=True)
    serve_until_stopped(fake)


if __name__ == "__main__":
    main()
