"""GraphClient against the loopback fake of Meta's Graph API: every operation and every error path,
the fake's webhooks (statuses, calls, inbound, redelivery), the error table and the body builders."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from tests.fakes.whatsapp import FakeWhatsApp
from tests.fakes.whatsapp import webhooks as wh
from voice_agent.integrations.whatsapp import graph as g
from voice_agent.integrations.whatsapp.errors import ErrorKind, Retry, describe, describe_transport
from voice_agent.integrations.whatsapp.graph import GraphClient, GraphError, MediaRejected

CUSTOMER = "16505551234"
SECRET = "app-secret-for-tests"
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8


@pytest.fixture
def fake():
    with FakeWhatsApp() as server:
        yield server


def client_for(fake: FakeWhatsApp, token: str | None = None, **kw: Any) -> GraphClient:
    kw.setdefault("timeout", 3.0)
    kw.setdefault("media_hosts", fake.media_hosts)
    return GraphClient(token or fake.token, base_url=fake.base_url, **kw)


class Receiver:
    """Our webhook endpoint for the fake to post to: records raw bodies, answers 500 to the first
    ``fail_first`` posts, 200 afterwards."""

    def __init__(self, fail_first: int = 0):
        self.posts: list[tuple[bytes, dict[str, str], int]] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = 500 if len(receiver.posts) < receiver.fail_first else 200
                receiver.posts.append((raw, dict(self.headers.items()), status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw, _, status in self.posts if status == 200]

    def wait_for(self, count: int, timeout: float = 3.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.bodies()) < count:
            time.sleep(0.01)
        return self.bodies()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def valid_signature(raw: bytes, headers: dict[str, str]) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers.get("X-Hub-Signature-256", ""), expected)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- messages ---------------------------------------------------------------------------------------


def test_send_text_posts_meta_shape_with_bearer_and_returns_ids(fake):
    result = client_for(fake).send_message(fake.phone_number_id, "+1 650-555-1234", g.text_message("Hello"))
    assert result.wamid.startswith("wamid.") and result.wa_id == CUSTOMER and result.message_status is None
    [request] = fake.requests_to(f"/v23.0/{fake.phone_number_id}/messages", "POST")
    assert request.headers["Authorization"] == f"Bearer {fake.token}"
    assert request.body == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+1 650-555-1234",
                            "type": "text", "text": {"body": "Hello", "preview_url": False}}
    assert fake.sent_messages()[0]["wamid"] == result.wamid


def test_reply_context_and_business_scoped_recipient(fake):
    client = client_for(fake)
    client.send_message(fake.phone_number_id, CUSTOMER, g.text_message("re"), reply_to="wamid.ORIGINAL",
                        biz_opaque_callback_data="order-7")
    result = client.send_message(fake.phone_number_id, "US.13491208655302741918", g.text_message("hi"),
                                 recipient_is_user_id=True)
    first, second = (r.body for r in fake.requests_to("/messages", "POST"))
    assert first["context"] == {"message_id": "wamid.ORIGINAL"} and first["biz_opaque_callback_data"] == "order-7"
    assert second["recipient"] == "US.13491208655302741918" and "to" not in second
    assert result.wa_id is None and result.wamid.startswith("wamid.")


def test_every_message_type_is_accepted_as_built(fake):
    client = client_for(fake)
    media_id = client.upload_media(fake.phone_number_id, JPEG, "image/jpeg", "photo.jpg")
    pdf_id = client.upload_media(fake.phone_number_id, b"%PDF-1.4 test", "application/pdf", "quote.pdf")
    messages = [
        g.media_message("image", media_id, caption="Your photo"),
        g.media_message("document", pdf_id, caption="Quote", filename="quote.pdf"),
        g.reply_buttons_message("Confirm?", [("yes", "Yes"), ("no", "No"), ("later", "Later")], header="Booking",
                                footer="Reply below"),
        g.list_message("Pick a slot", "Slots", [{"title": "Mon", "rows": [{"id": "m9", "title": "9:00"}]},
                                                 {"title": "Tue", "rows": [{"id": "t9", "title": "9:00",
                                                                            "description": "Morning"}]}]),
        g.reaction_message("wamid.X", "\U0001f44d"),
        g.location_message(52.52, 13.405, name="Office", address="Main St 1"),
        g.contacts_message([{"name": {"formatted_name": "Ana Lima"}, "phones": [{"phone": "+49 30 1234"}]}]),
        g.call_permission_request_message("May we call you about your order?"),
        g.template_message("spring_sale", "en_US", [
            g.template_component("header", [g.template_media_param("image", media_id)]),
            g.template_component("body", [g.template_text_param(v) for v in ("Ana", "20%", "Sunday")])]),
    ]
    results = [client.send_message(fake.phone_number_id, CUSTOMER, m) for m in messages]
    assert len({r.wamid for r in results}) == len(messages)
    assert results[-1].message_status == "accepted"  # templates carry message_status
    assert [m["type"] for m in fake.sent_messages()] == [m["type"] for m in messages]
    permission = fake.requests_to("/messages", "POST")[7].body
    assert permission["interactive"] == {"type": "call_permission_request", "action": {"name": "call_permission_request"},
                                         "body": {"text": "May we call you about your order?"}}


def test_mark_read_with_typing_indicator(fake):
    client = client_for(fake)
    assert client.mark_read(fake.phone_number_id, "wamid.IN1", typing_indicator=True) is True
    assert client.mark_read(fake.phone_number_id, "wamid.IN2") is True
    first, second = (r.body for r in fake.requests_to("/messages", "POST"))
    assert first == {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN1",
                     "typing_indicator": {"type": "text"}}
    assert "typing_indicator" not in second


@pytest.mark.parametrize("build, match", [
    (lambda: g.reply_buttons_message("b", [("1", "a"), ("2", "b"), ("3", "c"), ("4", "d")]), "1 to 3 buttons"),
    (lambda: g.reply_buttons_message("b", [("1", "x" * 21)]), "at most 20"),
    (lambda: g.reply_buttons_message("b", [("1", "Same"), ("2", "Same")]), "unique"),
    (lambda: g.list_message("b", "Open", [{"rows": [{"id": str(i), "title": "t"} for i in range(11)]}]), "at most 10 rows"),
    (lambda: g.list_message("b", "Open", [{"rows": [{"id": "1", "title": "t"}]}] * 2), "needs a title"),
    (lambda: g.list_message("b", "Open", [{"rows": [{"id": "1", "title": "x" * 25}]}]), "at most 24"),
    (lambda: g.text_message("x" * 4097), "at most 4096"),
    (lambda: g.text_message("  "), "non-empty"),
    (lambda: g.media_message("audio", "1", caption="no"), "caption"),
    (lambda: g.media_message("image", "1", filename="a.jpg"), "filename"),
    (lambda: g.media_message("gif", "1"), "Unknown media kind"),
    (lambda: g.location_message(91, 0), "latitude"),
    (lambda: g.contacts_message([{"name": {}}]), "formatted_name"),
    (lambda: g.template_component("button", [], sub_type="quick_reply"), "index"),
    (lambda: g.template_component("footer"), "Unknown template component"),
])
def test_builders_enforce_metas_limits(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_reaction_removal_and_template_without_components_are_valid_shapes():
    assert g.reaction_message("wamid.A", "") == {"type": "reaction", "reaction": {"message_id": "wamid.A", "emoji": ""}}
    assert g.template_message("hello_world", "en_US") == {
        "type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}}
    button = g.template_component("button", [{"type": "payload", "payload": "TRACK"}], sub_type="quick_reply", index=0)
    assert button == {"type": "button", "parameters": [{"type": "payload", "payload": "TRACK"}],
                      "sub_type": "quick_reply", "index": "0"}


# -- templates --------------------------------------------------------------------------------------


def test_template_param_count_mismatch_is_132000(fake):
    message = g.template_message("order_update", "en_US", [g.template_component("body", [g.template_text_param("Ana")])])
    with pytest.raises(GraphError) as info:
        client_for(fake).send_message(fake.phone_number_id, CUSTOMER, message)
    error = info.value
    assert (error.code, error.kind, error.retryable, error.retry_after) == (132000, ErrorKind.TEMPLATE_ERROR, False, None)
    assert "localizable_params (1)" in error.details and "expected number of params (2)" in error.details
    assert "placeholders" in error.user_message


@pytest.mark.parametrize("name, language", [("no_such_template", "en_US"), ("order_update", "de"),
                                            ("new_launch", "en_US"), ("risky_promo", "en_US")])
def test_missing_unapproved_or_untranslated_template_is_132001(fake, name, language):
    with pytest.raises(GraphError) as info:
        client_for(fake).send_message(fake.phone_number_id, CUSTOMER, g.template_message(name, language))
    assert info.value.code == 132001 and info.value.kind is ErrorKind.TEMPLATE_ERROR
    assert name in info.value.details


def test_template_image_header_missing_is_132012(fake):
    body = g.template_component("body", [g.template_text_param(v) for v in ("Ana", "20%", "Sunday")])
    with pytest.raises(GraphError) as info:
        client_for(fake).send_message(fake.phone_number_id, CUSTOMER, g.template_message("spring_sale", "en_US", [body]))
    assert info.value.code == 132012 and "expected IMAGE" in info.value.details


def test_list_templates_follows_paging_next(fake):
    fake.configure(template_page_size=2)
    templates = client_for(fake).list_templates(fake.waba_id)
    assert [t["name"] for t in templates][:3] == ["hello_world", "order_update", "order_update"]
    assert len(templates) == 9 and {t["status"] for t in templates} == {"APPROVED", "PENDING", "REJECTED"}
    assert {t["language"] for t in templates} >= {"en_US", "es", "fr"}
    pages = fake.requests_to("/message_templates")
    assert len(pages) == 5 and pages[0].query == {"limit": ["100"]} and pages[1].query["after"]
    spring = next(t for t in templates if t["name"] == "spring_sale")
    assert spring["components"][0] == {"type": "HEADER", "format": "IMAGE", "example": {
        "header_handle": ["https://scontent.whatsapp.net/v/sample-header.jpg"]}}


def test_list_templates_keeps_filters_across_pages_and_is_bounded(fake):
    fake.configure(template_page_size=2)
    client = client_for(fake)
    approved = client.list_templates(fake.waba_id, status="APPROVED", fields=("name", "status"))
    assert len(approved) == 7 and all(set(t) == {"name", "status", "id"} and t["status"] == "APPROVED" for t in approved)
    assert len(client.list_templates(fake.waba_id, max_pages=2)) == 4


class _StubSession:
    """Answers each request with the next canned (status, body, headers)."""

    def __init__(self, *answers: tuple[int, Any, dict[str, str]]):
        self.answers = list(answers)
        self.urls: list[str] = []

    def request(self, method: str, url: str, **kw: Any) -> requests.Response:
        self.urls.append(url)
        status, body, headers = self.answers.pop(0)
        response = requests.Response()
        response.status_code = status
        response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
        response.headers.update(headers)
        return response


def test_list_templates_refuses_a_next_page_on_another_host():
    session = _StubSession((200, {"data": [{"name": "a"}], "paging": {"next": "https://evil.example/page2"}}, {}))
    client = GraphClient("tok", session=session)  # type: ignore[arg-type]
    with pytest.raises(GraphError, match="outside the Graph API"):
        client.list_templates("W1")
    assert session.urls == ["https://graph.facebook.com/v23.0/W1/message_templates"]


# -- media ------------------------------------------------------------------------------------------


def test_upload_info_download_roundtrip(fake):
    client = client_for(fake)
    media_id = client.upload_media(fake.phone_number_id, JPEG, "image/jpeg", "photo.jpg")
    [upload] = fake.requests_to("/media", "POST")
    fields, files = upload.body["multipart"]
    assert fields["messaging_product"] == "whatsapp" and files["file"][:2] == ("photo.jpg", "image/jpeg")
    info = client.media_info(media_id)
    assert info.sha256 == hashlib.sha256(JPEG).hexdigest() and info.file_size == len(JPEG)
    assert info.mime_type == "image/jpeg" and info.media_id == media_id
    assert client.download_media(info.url, max_bytes=len(JPEG)) == JPEG
    [download] = fake.requests_to("/whatsapp_business/attachments/")
    assert download.headers["Authorization"] == f"Bearer {fake.token}"


def test_inbound_media_seeded_then_downloaded_with_mime_parameters(fake):
    voice = b"OggS" + b"\x00" * 500
    media = fake.seed_media(voice, "audio/ogg; codecs=opus")
    client = client_for(fake)
    info = client.media_info(media.id)
    assert g.parse_mime(info.mime_type) == ("audio/ogg", {"codecs": "opus"}) and g.media_kind(info.mime_type) == "audio"
    assert client.download_media(info.url, 10_000) == voice


def test_upload_refuses_unsupported_or_oversized_files_before_sending(fake):
    client = client_for(fake)
    with pytest.raises(ValueError, match="image/gif"):
        client.upload_media(fake.phone_number_id, b"GIF89a", "image/gif", "a.gif")
    with pytest.raises(ValueError, match="sticker files up to 512000"):
        client.upload_media(fake.phone_number_id, b"R" * (500 * 1024 + 1), "image/webp", "s.webp")
    assert fake.requests_to("/media") == []


def test_fake_refuses_an_unsupported_upload_like_meta(fake):
    response = requests.post(f"{fake.base_url}/v23.0/{fake.phone_number_id}/media",
                             headers={"Authorization": f"Bearer {fake.token}"},
                             data={"messaging_product": "whatsapp"}, files={"file": ("a.gif", b"GIF89a", "image/gif")})
    assert response.status_code == 400 and response.json()["error"]["code"] == 131053


@pytest.mark.parametrize("chunked", [False, True])
def test_download_refuses_more_than_max_bytes(fake, chunked):
    fake.configure(media_chunked=chunked)
    client = client_for(fake)
    info = client.media_info(fake.seed_media(b"x" * 200_000, "application/pdf").id)
    with pytest.raises(MediaRejected, match="100000") as error:
        client.download_media(info.url, max_bytes=100_000)
    assert error.value.retryable is False and error.value.kind is ErrorKind.MEDIA


def test_expired_media_url_asks_for_a_fresh_one(fake):
    client = client_for(fake)
    media = fake.seed_media(JPEG, "image/jpeg")
    fake.configure(media_url_ttl=-1)
    stale = client.media_info(media.id).url
    with pytest.raises(GraphError) as info:
        client.download_media(stale, 10_000)
    assert info.value.http_status == 404 and info.value.retryable and info.value.kind is ErrorKind.MEDIA
    fake.configure(media_url_ttl=300)
    assert client.download_media(client.media_info(media.id).url, 10_000) == JPEG


def test_media_url_needs_the_bearer_token(fake):
    url = client_for(fake).media_info(fake.seed_media(JPEG, "image/jpeg").id).url
    response = requests.get(url, timeout=3)
    assert response.status_code == 400 and response.json()["error"]["code"] == 2500
    assert requests.get(url, headers={"Authorization": "Bearer wrong"}, timeout=3).status_code == 401


def test_download_refuses_hosts_outside_media_hosts(fake):
    url = client_for(fake).media_info(fake.seed_media(JPEG, "image/jpeg").id).url
    graph_host_url = url.replace(fake.lookaside_url, fake.base_url)
    before = len(fake.state.requests)
    for client, target in ((client_for(fake, media_hosts=g.DEFAULT_MEDIA_HOSTS), url),
                           (client_for(fake), graph_host_url)):
        with pytest.raises(MediaRejected, match="not an allowed WhatsApp media host"):
            client.download_media(target, 10_000)
    assert len(fake.state.requests) == before  # nothing was fetched
    with pytest.raises(MediaRejected, match="https"):
        GraphClient("tok", media_hosts=("media.example",)).download_media("http://media.example/x", 10)


def test_download_follows_same_host_redirects_only(fake):
    client = client_for(fake)
    media = fake.seed_media(JPEG, "image/jpeg")
    fake.configure(media_redirect="same_host")
    assert client.download_media(client.media_info(media.id).url, 10_000) == JPEG
    fake.configure(media_redirect="foreign_host")
    with pytest.raises(MediaRejected, match="redirected to another host"):
        client.download_media(client.media_info(media.id).url, 10_000)
    assert not [r for r in fake.requests_to("/whatsapp_business/") if r.headers.get("Host", "").startswith("127.")]


# -- phone number -----------------------------------------------------------------------------------


def test_phone_number_profile(fake):
    profile = client_for(fake).phone_number_profile(fake.phone_number_id)
    assert (profile.display_phone_number, profile.verified_name, profile.quality_rating) == (
        "+1 555-078-3881", "Voice Agent Test", "GREEN")
    assert profile.throughput_level == "STANDARD" and profile.platform_type == "CLOUD_API"
    [request] = fake.requests_to(f"/{fake.phone_number_id}", "GET")
    assert request.query["fields"] == [",".join(GraphClient.PROFILE_FIELDS)]


def test_wrong_phone_number_id_is_100_33(fake):
    with pytest.raises(GraphError) as info:
        client_for(fake).phone_number_profile("999")
    error = info.value
    assert (error.code, error.subcode, error.kind, error.retryable) == (100, 33, ErrorKind.BAD_REQUEST, False)
    assert error.error_type == "GraphMethodException" and "does not know this ID" in error.user_message
    with pytest.raises(GraphError) as info:
        client_for(fake).send_message("999", CUSTOMER, g.text_message("x"))
    assert info.value.subcode == 33


# -- errors -----------------------------------------------------------------------------------------


def test_bad_token_is_190_and_the_token_never_leaks(fake):
    secret_token = "EAAB-secret-token-value"
    client = client_for(fake, token=secret_token)
    with pytest.raises(GraphError) as info:
        client.send_message(fake.phone_number_id, CUSTOMER, g.text_message("x"))
    error = info.value
    assert (error.code, error.kind, error.http_status, error.retryable) == (190, ErrorKind.AUTH_EXPIRED, 401, False)
    assert "administrator" in error.user_message
    for text in (str(error), repr(error), repr(client), str(error.args), error.user_message):
        assert secret_token not in text


def test_meta_echoing_the_token_is_scrubbed(fake):
    fake.fail_next(100, message=f"(#100) Bad token {fake.token} given", details=f"token={fake.token}")
    with pytest.raises(GraphError) as info:
        client_for(fake).mark_read(fake.phone_number_id, "wamid.X")
    assert fake.token not in info.value.message and fake.token not in info.value.details
    assert "***" in info.value.message


def test_expired_token_is_190_subcode_463(fake):
    fake.expire_token()
    with pytest.raises(GraphError) as info:
        client_for(fake).phone_number_profile(fake.phone_number_id)
    assert (info.value.code, info.value.subcode, info.value.kind) == (190, 463, ErrorKind.AUTH_EXPIRED)
    assert info.value.fbtrace_id


@pytest.mark.parametrize("http_status", [429, 400])
def test_throughput_limit_130429_is_retryable_with_retry_after(fake, http_status):
    fake.fail_next(130429, http_status=http_status, retry_after="7")
    with pytest.raises(GraphError) as info:
        client_for(fake).send_message(fake.phone_number_id, CUSTOMER, g.text_message("x"))
    error = info.value
    assert (error.code, error.http_status, error.kind) == (130429, http_status, ErrorKind.RATE_LIMITED)
    assert error.retryable and error.retry_after == 7.0
    assert client_for(fake).send_message(fake.phone_number_id, CUSTOMER, g.text_message("x")).wamid  # next one passes


def test_retry_after_falls_back_to_usage_header_then_to_the_table(fake):
    fake.fail_next(80007, regain_access_minutes=2)
    fake.fail_next(130429)
    client = client_for(fake)
    for expected in (120.0, 5.0):
        with pytest.raises(GraphError) as info:
            client.mark_read(fake.phone_number_id, "wamid.X")
        assert info.value.retry_after == expected


def test_pair_rate_limit_131056_retries_slower(fake):
    fake.fail_recipient(CUSTOMER, 131056, asynchronous=False)
    with pytest.raises(GraphError) as info:
        client_for(fake).send_message(fake.phone_number_id, CUSTOMER, g.text_message("x"))
    assert info.value.info.retry is Retry.SLOWER and info.value.retry_after == 6
    assert client_for(fake).send_message(fake.phone_number_id, "4915112345678", g.text_message("x")).wamid


def test_out_of_window_131047_says_only_a_template_may_be_sent(fake):
    fake.fail_next(131047, path_contains="/messages")
    with pytest.raises(GraphError) as info:
        client_for(fake).send_message(fake.phone_number_id, CUSTOMER, g.text_message("x"))
    assert info.value.kind is ErrorKind.WINDOW_CLOSED and not info.value.retryable
    assert "template" in info.value.user_message


def test_5xx_is_retryable(fake):
    fake.set_mode("5xx", error_status=503)
    with pytest.raises(GraphError) as info:
        client_for(fake).send_message(fake.phone_number_id, CUSTOMER, g.text_message("x"))
    assert (info.value.code, info.value.http_status, info.value.kind) == (2, 503, ErrorKind.SERVER_ERROR)
    assert info.value.retryable and info.value.retry_after == 5


def test_non_json_5xx_is_retryable_and_non_json_4xx_is_not():
    session = _StubSession((502, b"<html>Bad gateway</html>", {}), (418, b"teapot", {}))
    client = GraphClient("tok", session=session)  # type: ignore[arg-type]
    for retryable in (True, False):
        with pytest.raises(GraphError) as info:
            client.mark_read("P1", "wamid.X")
        assert info.value.code is None and info.value.retryable is retryable


def test_timeout_in_slow_mode_is_retryable_and_maybe_delivered(fake):
    fake.set_mode("slow", slow_seconds=0.6)
    started = time.monotonic()
    with pytest.raises(GraphError) as info:
        client_for(fake, timeout=0.2).send_message(fake.phone_number_id, CUSTOMER, g.text_message("x"))
    assert time.monotonic() - started < 0.55
    error = info.value
    assert error.kind is ErrorKind.NETWORK and error.retryable and error.maybe_delivered
    assert "did not answer in time" in error.user_message


def test_down_mode_connection_closed_is_retryable(fake):
    fake.set_mode("down")
    with pytest.raises(GraphError) as info:
        client_for(fake).send_message(fake.phone_number_id, CUSTOMER, g.text_message("x"))
    assert info.value.kind is ErrorKind.NETWORK and info.value.retryable and info.value.maybe_delivered
    assert fake.stats()["requests"] == 1


def test_connection_refused_is_retryable_and_certainly_not_delivered():
    client = GraphClient("tok", base_url=f"http://127.0.0.1:{free_port()}", timeout=1)
    with pytest.raises(GraphError) as info:
        client.send_message("P1", CUSTOMER, g.text_message("x"))
    assert info.value.kind is ErrorKind.NETWORK and info.value.retryable and not info.value.maybe_delivered


def test_unknown_code_gets_an_honest_generic_message(fake):
    fake.fail_next(987654, message="(#987654) Brand new failure")
    with pytest.raises(GraphError) as info:
        client_for(fake).mark_read(fake.phone_number_id, "wamid.X")
    assert info.value.kind is ErrorKind.UNKNOWN and not info.value.retryable
    assert "987654" in info.value.user_message and "Brand new failure" in info.value.user_message


@pytest.mark.parametrize("code, subcode, kind, retry", [
    (131047, None, ErrorKind.WINDOW_CLOSED, Retry.NO), (131026, None, ErrorKind.UNDELIVERABLE, Retry.NO),
    (130429, None, ErrorKind.RATE_LIMITED, Retry.BACKOFF), (131056, None, ErrorKind.RATE_LIMITED, Retry.SLOWER),
    (131048, None, ErrorKind.UNDELIVERABLE, Retry.NO), (131049, None, ErrorKind.UNDELIVERABLE, Retry.NO),
    (132000, None, ErrorKind.TEMPLATE_ERROR, Retry.NO), (132001, None, ErrorKind.TEMPLATE_ERROR, Retry.NO),
    (132012, None, ErrorKind.TEMPLATE_ERROR, Retry.NO), (4, None, ErrorKind.RATE_LIMITED, Retry.BACKOFF),
    (80007, None, ErrorKind.RATE_LIMITED, Retry.BACKOFF), (190, 463, ErrorKind.AUTH_EXPIRED, Retry.NO),
    (100, 33, ErrorKind.BAD_REQUEST, Retry.NO), (131051, None, ErrorKind.UNSUPPORTED, Retry.NO),
    (138000, None, ErrorKind.CALLING, Retry.NO), (138001, None, ErrorKind.CALLING, Retry.NO),
    (138002, None, ErrorKind.CALLING, Retry.BACKOFF), (138003, None, ErrorKind.CALLING, Retry.NO),
    (138004, None, ErrorKind.CALLING, Retry.BACKOFF), (138005, None, ErrorKind.CALLING, Retry.BACKOFF),
    (138006, None, ErrorKind.CALLING, Retry.NO), (138007, None, ErrorKind.CALLING, Retry.NO),
    (138009, None, ErrorKind.CALLING, Retry.NO), (138012, None, ErrorKind.CALLING, Retry.NO),
    (138013, None, ErrorKind.CALLING, Retry.BACKOFF), (138021, None, ErrorKind.CALLING, Retry.NO),
    (250, None, ErrorKind.PERMISSION, Retry.NO),
])
def test_error_table(code, subcode, kind, retry):
    info = describe(code, subcode, title="Meta title")
    assert (info.kind, info.retry) == (kind, retry)
    assert (info.backoff_seconds is None) == (retry is Retry.NO)
    assert info.message.endswith(".") and "Meta title" not in info.message


def test_error_table_generic_entries():
    undocumented = describe(138010, title="New calling thing")
    assert undocumented.kind is ErrorKind.CALLING and "138010" in undocumented.message
    assert describe(424242, title="Odd", http_status=503).retryable
    assert describe(424242, title="Odd", is_transient=True).retry is Retry.BACKOFF
    assert describe(100).message != describe(100, 33).message
    assert describe_transport(timeout=False, maybe_delivered=False).kind is ErrorKind.NETWORK


# -- calling ----------------------------------------------------------------------------------------


def test_business_initiated_call_and_its_webhooks(fake, receiver):
    fake.configure_webhooks(receiver.url, SECRET)
    client = client_for(fake)
    answer = client.call_action(fake.phone_number_id, "connect", to=CUSTOMER, sdp=wh.SAMPLE_OFFER_SDP,
                                biz_opaque_callback_data="lead-42")
    call_id = answer["calls"][0]["id"]
    assert call_id.startswith("wacid.")
    assert fake.requests_to("/calls", "POST")[0].body == {
        "messaging_product": "whatsapp", "action": "connect", "to": CUSTOMER,
        "session": {"sdp_type": "offer", "sdp": wh.SAMPLE_OFFER_SDP}, "biz_opaque_callback_data": "lead-42"}
    connect, ringing = receiver.wait_for(2)
    connect_call = connect["entry"][0]["changes"][0]["value"]["calls"][0]
    assert connect["entry"][0]["changes"][0]["field"] == "calls"
    assert (connect_call["event"], connect_call["direction"], connect_call["session"]["sdp_type"]) == (
        "connect", "BUSINESS_INITIATED", "answer")
    assert ringing["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] == "RINGING"
    fake.call_status(call_id, "ACCEPTED")
    assert client.call_action(fake.phone_number_id, "terminate", call_id=call_id) == {
        "messaging_product": "whatsapp", "success": True}
    terminate = receiver.wait_for(4)[3]["entry"][0]["changes"][0]["value"]["calls"][0]
    assert terminate["event"] == "terminate" and terminate["status"] == "COMPLETED" and terminate["duration"] >= 0
    with pytest.raises(GraphError) as info:
        client.call_action(fake.phone_number_id, "terminate", call_id=call_id)
    assert info.value.code == 131009


def test_business_initiated_call_answered_by_the_tests_own_peer(fake, receiver):
    fake.configure_webhooks(receiver.url, SECRET)
    fake.configure(auto_answer_calls=False)
    client = client_for(fake)
    call_id = client.call_action(fake.phone_number_id, "connect", to=CUSTOMER, sdp=wh.SAMPLE_OFFER_SDP)["calls"][0]["id"]
    time.sleep(0.2)
    assert receiver.bodies() == []  # no sample answer, no RINGING: the test's peer answers
    answer = wh.SAMPLE_OFFER_SDP.replace("a=setup:actpass", "a=setup:active")
    fake.answer_call(call_id, answer)
    connect = receiver.wait_for(1)[0]["entry"][0]["changes"][0]["value"]["calls"][0]
    assert (connect["event"], connect["session"]) == ("connect", {"sdp_type": "answer", "sdp": answer})
    with pytest.raises(ValueError, match="answered already"):
        fake.answer_call(call_id, answer)
    with pytest.raises(ValueError, match="the customer's"):
        fake.answer_call(fake.incoming_call("4915112345678"), answer)


def test_user_initiated_call_pre_accept_accept_with_the_same_answer(fake):
    client = client_for(fake)
    call_id = fake.incoming_call(CUSTOMER)
    assert client.call_action(fake.phone_number_id, "pre_accept", call_id=call_id, sdp=wh.SAMPLE_ANSWER_SDP)["success"]
    with pytest.raises(GraphError, match="Parameter value is not valid") as info:
        client.call_action(fake.phone_number_id, "accept", call_id=call_id, sdp=wh.SAMPLE_ANSWER_SDP + "a=x\r\n")
    assert "does not match the SDP answer given in pre_accept" in info.value.details
    assert client.call_action(fake.phone_number_id, "accept", call_id=call_id, sdp=wh.SAMPLE_ANSWER_SDP)["success"]
    [call] = fake.state.calls.values()
    assert call.actions == ["pre_accept", "accept"] and call.state == "accepted"
    other = fake.incoming_call("4915112345678")
    assert client.call_action(fake.phone_number_id, "reject", call_id=other)["success"]
    with pytest.raises(ValueError, match="SDP answer"):
        client.call_action(fake.phone_number_id, "accept", call_id=other, sdp="v=0", sdp_type="offer")


def test_calling_refusals(fake):
    client = client_for(fake)
    fake.set_call_permission(CUSTOMER, "no_permission")
    with pytest.raises(GraphError) as info:
        client.call_action(fake.phone_number_id, "connect", to=CUSTOMER, sdp=wh.SAMPLE_OFFER_SDP)
    assert info.value.code == 138006 and info.value.kind is ErrorKind.CALLING and "permission" in info.value.user_message
    with pytest.raises(GraphError) as info:
        client.call_action(fake.phone_number_id, "connect", to="4915112345678", sdp="not an sdp")
    assert info.value.code == 100 and "SDP" in info.value.details
    assert client.update_call_settings(fake.phone_number_id, {"status": "DISABLED"}) is True
    assert client.call_settings(fake.phone_number_id)["calling"]["status"] == "DISABLED"
    with pytest.raises(GraphError) as info:
        client.call_action(fake.phone_number_id, "connect", to="4915112345678", sdp=wh.SAMPLE_OFFER_SDP)
    assert info.value.code == 138000
    with pytest.raises(GraphError) as info:
        client.update_call_settings(fake.phone_number_id, {"status": "MAYBE"})
    assert info.value.code == 100 and "status" in info.value.details


def test_call_permissions_and_the_permission_request_limit(fake):
    client = client_for(fake)
    state = client.call_permissions(fake.phone_number_id, CUSTOMER)
    assert state["permission"]["status"] == "temporary" and state["permission"]["expiration_time"] > time.time()
    request_action = state["actions"][0]
    assert request_action["action_name"] == "send_call_permission_request" and request_action["can_perform_action"]
    assert [lim["time_period"] for lim in request_action["limits"]] == ["PT24H", "P7D"]
    client.send_message(fake.phone_number_id, CUSTOMER, g.call_permission_request_message("May we call?"))
    with pytest.raises(GraphError) as info:
        client.send_message(fake.phone_number_id, CUSTOMER, g.call_permission_request_message("Again?"))
    assert info.value.code == 138009
    after = client.call_permissions(fake.phone_number_id, CUSTOMER)["actions"][0]
    assert after["can_perform_action"] is False and after["limits"][0]["current_usage"] == 1
    assert "limit_expiration_time" in after["limits"][0]


# -- webhooks from the fake -------------------------------------------------------------------------


def test_accepted_message_gets_signed_sent_delivered_read_statuses(fake, receiver):
    fake.configure_webhooks(receiver.url, SECRET)
    wamid = client_for(fake).send_message(fake.phone_number_id, CUSTOMER, g.text_message("hi")).wamid
    bodies = receiver.wait_for(3)
    statuses = [b["entry"][0]["changes"][0]["value"]["statuses"][0] for b in bodies]
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert {s["id"] for s in statuses} == {wamid} and statuses[0]["recipient_id"] == CUSTOMER
    assert statuses[0]["pricing"] == {"billable": True, "pricing_model": "CBP", "category": "service"}
    assert "expiration_timestamp" in statuses[0]["conversation"]
    assert all(valid_signature(raw, headers) for raw, headers, _ in receiver.posts)
    value = bodies[0]["entry"][0]["changes"][0]["value"]
    assert value["metadata"] == {"display_phone_number": "15550783881", "phone_number_id": fake.phone_number_id}
    assert bodies[0]["entry"][0]["id"] == fake.waba_id


@pytest.mark.parametrize("code", [131026, 131049])
def test_asynchronous_recipient_failure_arrives_as_a_failed_status(fake, receiver, code):
    fake.configure_webhooks(receiver.url, SECRET)
    fake.fail_recipient(CUSTOMER, code)
    wamid = client_for(fake).send_message(fake.phone_number_id, CUSTOMER, g.text_message("hi")).wamid
    [body] = receiver.wait_for(1)
    fake.wait_for_deliveries(1)
    [failed] = body["entry"][0]["changes"][0]["value"]["statuses"]
    assert (failed["id"], failed["status"]) == (wamid, "failed")
    assert failed["errors"][0]["code"] == code and failed["errors"][0]["error_data"]["details"]
    assert len(receiver.posts) == 1


def test_closed_window_fails_asynchronously_with_131047_until_the_customer_writes(fake, receiver):
    fake.configure_webhooks(receiver.url, SECRET)
    fake.configure(enforce_window=True, status_delays={"delivered": -1, "read": -1})
    client = client_for(fake)
    client.send_message(fake.phone_number_id, CUSTOMER, g.text_message("hi"))
    failed = receiver.wait_for(1)[0]["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert failed["errors"][0]["code"] == 131047
    client.send_message(fake.phone_number_id, CUSTOMER, g.template_message("hello_world", "en_US"))
    fake.inbound("text", from_=CUSTOMER, body="Hello!")
    values = [b["entry"][0]["changes"][0]["value"] for b in receiver.wait_for(3)]
    [inbound] = [v for v in values if "messages" in v]
    assert inbound["messages"][0]["text"] == {"body": "Hello!"} and inbound["contacts"][0]["wa_id"] == CUSTOMER
    assert [v["statuses"][0]["status"] for v in values if "statuses" in v] == ["failed", "sent"]  # template passes
    wamid = client.send_message(fake.phone_number_id, CUSTOMER, g.text_message("now inside the window")).wamid
    last = receiver.wait_for(4)[3]["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert (last["id"], last["status"]) == (wamid, "sent")


def test_endpoint_not_answering_200_gets_the_same_body_again(fake):
    receiver = Receiver(fail_first=2)
    try:
        fake.configure_webhooks(receiver.url, SECRET, max_attempts=4, retry_delays=(0.05,))
        fake.inbound("text", from_=CUSTOMER, body="retry me")
        assert fake.wait_for_deliveries(3)
        raws = [raw for raw, _, _ in receiver.posts]
        assert [status for _, _, status in receiver.posts] == [500, 500, 200] and len(set(raws)) == 1
        [delivery] = fake.deliveries()
        assert delivery["delivered"] and [a["status"] for a in delivery["attempts"]] == [500, 500, 200]
    finally:
        receiver.close()


def test_redelivery_is_bounded(fake):
    receiver = Receiver(fail_first=100)
    try:
        fake.configure_webhooks(receiver.url, SECRET, max_attempts=3, retry_delays=(0.02,))
        fake.inbound("text", from_=CUSTOMER, body="never acknowledged")
        assert fake.wait_for_deliveries(3)
        assert len(receiver.posts) == 3 and fake.deliveries()[0]["delivered"] is False
    finally:
        receiver.close()


def test_user_call_terminated_with_errors_in_call_and_value(fake, receiver):
    fake.configure_webhooks(receiver.url, SECRET)
    call_id = fake.incoming_call(CUSTOMER)
    fake.end_call(call_id, error_code=138021, error_title="No media", error_details="No media for 20 s")
    connect, terminate = receiver.wait_for(2)
    offer = connect["entry"][0]["changes"][0]["value"]
    assert offer["calls"][0]["session"]["sdp_type"] == "offer" and offer["contacts"][0]["wa_id"] == CUSTOMER
    value = terminate["entry"][0]["changes"][0]["value"]
    assert value["calls"][0]["status"] == "FAILED" and "duration" not in value["calls"][0]
    assert value["calls"][0]["errors"][0]["code"] == 138021 and value["errors"][0]["code"] == 138021


# -- webhook builders -------------------------------------------------------------------------------


def test_builders_batch_sign_and_post(receiver):
    media = wh.image(CUSTOMER, "765", sha256=wh.sha256_b64(JPEG), caption="look")
    reply = wh.button_reply(CUSTOMER, "yes", "Yes", context_id="wamid.ASK")
    body = wh.envelope(
        wh.entry(wh.change("messages", wh.messages_value(contacts=[wh.contact(CUSTOMER)], messages=[media, reply])),
                 wh.change("messages", wh.messages_value(statuses=[wh.status("wamid.A", "delivered"),
                                                                   wh.failed_status("wamid.B", code=131026)]))),
        wh.entry(wh.change("calls", wh.calls_value(statuses=[wh.call_status("wacid.C", "REJECTED")])),
                 waba_id="other-waba"))
    response = wh.post_signed(receiver.url, body, SECRET)
    assert response.status_code == 200
    raw, headers, _ = receiver.posts[0]
    assert raw == wh.encode(body) and valid_signature(raw, headers)
    assert wh.sign(SECRET, raw) == headers["X-Hub-Signature-256"]
    assert len(json.loads(raw)["entry"]) == 2
    forged = wh.post_signed(receiver.url, body, SECRET, signature="sha256=" + "0" * 64)
    assert forged.status_code == 200 and not valid_signature(*receiver.posts[1][:2])


def test_builder_shapes_match_metas_samples():
    removed = wh.reaction_removed(CUSTOMER, "wamid.R")
    assert removed["type"] == "reaction" and removed["reaction"] == {"message_id": "wamid.R", "emoji": ""}
    permission = wh.call_permission_reply(CUSTOMER, "reject", context_id="wamid.REQ")["interactive"]
    assert permission == {"type": "call_permission_reply",
                          "call_permission_reply": {"response": "reject", "response_source": "user_action"}}
    quick = wh.quick_reply_button(CUSTOMER, "Track", "TRACK")
    assert quick["button"] == {"payload": "TRACK", "text": "Track"} and "context" not in quick
    system = wh.user_changed_number(CUSTOMER, "4915112345678")["system"]
    assert system["type"] == "user_changed_number" and system["wa_id"] == "4915112345678"
    unsupported = wh.unsupported(CUSTOMER)
    assert unsupported["errors"][0]["code"] == 131051 and "href" not in unsupported["errors"][0]
    terminate = wh.call_terminate("wacid.T", from_="1", to="2", direction="USER_INITIATED", start_time=100, end_time=160)
    assert (terminate["start_time"], terminate["end_time"], terminate["duration"]) == ("100", "160", 60)
    assert wh.call_connect("wacid.C", from_="1", to="2", direction="USER_INITIATED", sdp="v=0")["session"]["sdp_type"] == "offer"
    order = wh.order(CUSTOMER, "cat", [{"product_retailer_id": "SKU", "quantity": 2, "item_price": 3.5, "currency": "EUR"}])
    assert order["order"]["product_items"][0]["quantity"] == 2
    value_errors = wh.value_errors_webhook([wh.error(130429, "Rate limit hit", "Too many")])
    assert value_errors["entry"][0]["changes"][0]["value"]["errors"][0]["code"] == 130429
    assert wh.messages_webhook(messages=[wh.text("111", "a"), wh.text("222", "b"), wh.text("111", "c")])[
        "entry"][0]["changes"][0]["value"]["contacts"] == [wh.contact("111"), wh.contact("222")]


# -- the standalone fake, driven over HTTP ----------------------------------------------------------


def test_standalone_fake_prints_its_url_and_obeys_control_routes(receiver):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.whatsapp", "--port", str(port), "--token", "T0K", "--phone-number-id", "PN1",
         "--waba-id", "W1", "--webhook-url", receiver.url, "--app-secret", SECRET],
        stdout=subprocess.PIPE, text=True)
    try:
        ready = json.loads(process.stdout.readline())
        assert ready["base_url"] == f"http://127.0.0.1:{port}" and ready["phone_number_id"] == "PN1"
        control = ready["control"]
        client = GraphClient("T0K", base_url=ready["base_url"], media_hosts=ready["media_hosts"], timeout=3)
        assert requests.post(f"{control}/fail", json={"code": 131056, "count": 1}, timeout=3).json() == {"queued": 1}
        with pytest.raises(GraphError) as info:
            client.mark_read("PN1", "wamid.X")
        assert info.value.code == 131056
        seeded = requests.post(f"{control}/media?filename=v.ogg", data=b"OggS-voice",
                               headers={"Content-Type": "audio/ogg; codecs=opus"}, timeout=3).json()
        assert client.download_media(client.media_info(seeded["id"]).url, 100) == b"OggS-voice"
        inbound = requests.post(f"{control}/inbound", timeout=3, json={
            "build": "audio", "args": {"from": CUSTOMER, "media_id": seeded["id"], "sha256": seeded["sha256"]}}).json()
        [body] = receiver.wait_for(1)
        message = body["entry"][0]["changes"][0]["value"]["messages"][0]
        assert message["id"] == inbound["message_id"] and message["audio"]["id"] == seeded["id"]
        assert message["audio"]["mime_type"] == "audio/ogg; codecs=opus" and message["audio"]["voice"] is True
        assert requests.post(f"{control}/token", json={"expired": True}, timeout=3).json() == {"expired": True}
        with pytest.raises(GraphError, match="Session has expired"):
            client.phone_number_profile("PN1")
        stats = requests.get(f"{control}/stats", timeout=3).json()
        assert stats["requests"] == 4 and stats["by_route"]["POST /messages"] == 1
        assert requests.post(f"{control}/nope", json={}, timeout=3).status_code == 404
    finally:
        process.terminate()
        process.wait(timeout=5)
