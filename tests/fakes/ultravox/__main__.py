"""python -m tests.fakes.ultravox --port 8765 [--ws-port 8766] [--api-key test-key]"""

import argparse

from tests.fakes import serve_until_stopped
from tests.fakes.ultravox import FakeUltravox


def main() -> None:
    parser = argparse.ArgumentParser(description="Loopback fake of the Ultravox API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--ws-port", type=int, default=None, help="join websocket port (default: port + 1)")
    parser.add_argument("--api-key", default="test-key")
    args = parser.parse_args()
    fake = FakeUltravox(args.host, args.port, args.ws_port if args.ws_port is not None else args.port + 1,
                        api_key=args.api_key)
    fake.start()
    print(f"fake Ultravox on {fake.base_url} (join sockets on ws://{args.host}:{fake._ws.port if fake._ws else '-'}),"
          f" API key {args.api_key!r}", flush=True)
    serve_until_stopped(fake)


if __name__ == "__main__":
    main()
