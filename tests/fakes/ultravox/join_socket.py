"""The join websocket of a call as far as ultravox-client uses it: it sends one `room_info`
message whose roomUrl/token the SDK hands to LiveKit; closing the socket ends the session."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Response


def _closed_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class JoinSocketServer:
    def __init__(self, state: Any, host: str, port: int):
        self.state = state
        self.host = host
        self._requested_port = port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Future[None] | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = port
        self.dead_room_port = _closed_port(host)
        self.media_room_port = 0
        self._media_connections: set[asyncio.StreamWriter] = set()
        if port == 0:
            with socket.socket() as s:
                s.bind((host, 0))
                self.port = s.getsockname()[1]

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(5)

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = self._loop.create_future()
        media = await asyncio.start_server(self._hold_media, self.host, 0)
        self.media_room_port = media.sockets[0].getsockname()[1]
        try:
            async with serve(self._handle, self.host, self.port, process_request=self._check):
                self._ready.set()
                await self._stop
        finally:
            media.close()
            for writer in list(self._media_connections):
                writer.close()

    async def _hold_media(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A media server that takes the connection and never answers: LiveKit stays connecting, as it
        does with a slow one (and gives up after its own timeout), so the page stays "Connecting…"."""
        self._media_connections.add(writer)
        try:
            while await reader.read(4096):
                pass
        finally:
            self._media_connections.discard(writer)
            writer.close()

    def _check(self, connection: ServerConnection, request: Any) -> Response | None:
        call_id = request.path.split("?")[0].rstrip("/").split("/")[-1]
        call = self.state.calls.get(call_id)
        if self.state.ws_mode == "reject" or call is None or call.get("ended"):
            return Response(404, "Not Found", Headers({"Content-Type": "text/plain"}), b"call not found or ended\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        import json

        call_id = ws.request.path.split("?")[0].rstrip("/").split("/")[-1]
        call = self.state.calls[call_id]
        mode = self.state.ws_mode
        if mode == "ended":
            await ws.close(1000, "call ended")
            return
        call["joined"] = call["joined"] or call["created"]
        room_port = self.dead_room_port if mode == "dead_room" else self.media_room_port
        await ws.send(json.dumps({"type": "room_info", "roomUrl": f"ws://{self.host}:{room_port}",
                                  "token": f"fake-livekit-token-{call_id}"}))
        if mode == "dead_room":
            await asyncio.sleep(float(self.state.ws_close_after))
            await ws.close(1000, "media connection failed")
            return
        async for _ in ws:  # ok: stay open until the client leaves or the call is hung up
            if call.get("ended"):
                break
