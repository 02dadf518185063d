"""WhatsApp webhook payloads.

The fixtures in fixtures/whatsapp/ follow the shapes of Meta's webhook reference pages and of pywa's
recorded updates (field names and types as documented; ids, numbers and texts are our own).
"""

import copy
import hashlib
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voice_agent.integrations.whatsapp.payloads import (
    MAX_BODY_BYTES,
    CallPermissionReplyBody,
    CallsChange,
    ContactsBody,
    FlowReplyBody,
    InteractiveReplyBody,
    LocationBody,
    MediaBody,
    MessagesChange,
    MimeType,
    OrderBody,
    ReactionBody,
    SystemBody,
    TemplateButtonBody,
    TextBody,
    UnknownBody,
    UnsupportedBody,
    WebhookPayloadError,
    parse_calls_change,
    parse_messages_change,
    parse_mime_type,
    parse_unix_seconds,
    parse_webhook,
)

FIXTURES = Path(__file__).parent / "fixtures" / "whatsapp"
FIXTURE_NAMES = sorted(path.name for path in FIXTURES.glob("*.json"))
T0 = datetime(2025, 11, 27, 8, 0, tzinfo=timezone.utc)
CUSTOMER = "447911123456"
PNID = "118830224567890"


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def body_of(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def only_change(name: str):
    batch = parse_webhook(body_of(name))
    assert len(batch.changes) == 1
    return batch.changes[0].parse()


def envelope(field: str, value: object) -> bytes:
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": field, "value": value}]}],
        }
    ).encode()


def messages_value(*messages: object, **extra: object) -> dict:
    return {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15557010000", "phone_number_id": PNID},
        "messages": list(messages),
        **extra,
    }


def text_message(wamid: str = "wamid.X1", **extra: object) -> dict:
    return {
        "from": CUSTOMER,
        "id": wamid,
        "timestamp": "1764230400",
        "type": "text",
        "text": {"body": "hi"},
        **extra,
    }


# --- envelope ------------------------------------------------------------------------------------


def test_every_entry_and_every_change_is_kept_in_order():
    batch = parse_webhook(body_of("mixed_batch.json"))
    assert [(c.waba_id, c.field) for c in batch.changes] == [
        ("104392880091234", "messages"),
        ("104392880091234", "messages"),
        ("227719005512345", "messages"),
        ("227719005512345", "message_template_status_update"),
        ("227719005512345", "calls"),
    ]
    first, second, third, template, calls = (change.parse() for change in batch.changes)
    assert isinstance(first, MessagesChange) and [m.body.text for m in first.messages] == [
        "First of two",
        "Olá",
    ]
    assert [m.from_wa_id for m in first.messages] == [CUSTOMER, "5531996883193"]
    assert [s.status for s in second.statuses] == ["sent", "read"]
    assert third.phone_number_id == "331209876543210" and third.display_phone_number == "447700900100"
    assert template is None
    assert batch.changes[3].value["message_template_name"] == "booking_confirmation"
    assert isinstance(calls, CallsChange) and calls.calls[0].to_number == "447700900100"


def test_the_delivery_dedupe_key_is_the_sha256_of_the_raw_body():
    raw = body_of("mixed_batch.json")
    assert parse_webhook(raw).dedupe_key == hashlib.sha256(raw).hexdigest()
    assert parse_webhook(raw).dedupe_key == parse_webhook(bytes(raw)).dedupe_key
    assert parse_webhook(raw + b" ").dedupe_key != parse_webhook(raw).dedupe_key


def test_an_empty_entry_list_is_an_empty_batch():
    assert parse_webhook(b'{"object":"whatsapp_business_account","entry":[]}').changes == ()


def test_unknown_envelope_keys_are_ignored():
    body = json.loads(body_of("statuses_batch.json"))
    body["entry"][0]["time"] = 1764230400
    body["new_top_level"] = {"x": 1}
    assert parse_webhook(json.dumps(body).encode()).changes[0].field == "messages"


def test_body_of_exactly_the_limit_is_read_and_one_byte_more_is_refused():
    prefix = b'{"object":"whatsapp_business_account","entry":[]'
    at_limit = prefix + b" " * (MAX_BODY_BYTES - len(prefix) - 1) + b"}"
    assert len(at_limit) == MAX_BODY_BYTES
    assert parse_webhook(at_limit).changes == ()
    with pytest.raises(WebhookPayloadError, match="larger than"):
        parse_webhook(at_limit + b" ")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b'{"object":"whatsapp_business_account","entry":[],"x":NaN}', "not valid JSON"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "not valid JSON|larger than"),
        (b"[]", "not a JSON object"),
        (b'"whatsapp_business_account"', "not a JSON object"),
        (b'{"entry":[]}', "object must be 'whatsapp_business_account'"),
        (b'{"object":"page","entry":[]}', "object must be 'whatsapp_business_account', got 'page'"),
        (b'{"object":"whatsapp_business_account"}', "entry must be a list"),
        (b'{"object":"whatsapp_business_account","entry":{}}', "entry must be a list"),
        (b'{"object":"whatsapp_business_account","entry":[1]}', r"entry\[0\] must be an object"),
        (b'{"object":"whatsapp_business_account","entry":[{"changes":[]}]}', r"entry\[0\]\.id"),
        (b'{"object":"whatsapp_business_account","entry":[{"id":true,"changes":[]}]}', r"entry\[0\]\.id"),
        (
            b'{"object":"whatsapp_business_account","entry":[{"id":"1"}]}',
            r"entry\[0\]\.changes must be a list",
        ),
        (
            b'{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[]},{"id":"2","changes":["x"]}]}',
            r"entry\[1\]\.changes\[0\] must be an object",
        ),
        (
            b'{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{}}]}]}',
            r"entry\[0\]\.changes\[0\]\.field is missing",
        ),
        (
            b'{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":[]}]}]}',
            r"entry\[0\]\.changes\[0\]\.value must be an object",
        ),
    ],
)
def test_malformed_envelopes_are_refused_with_a_clear_message(body, message):
    with pytest.raises(WebhookPayloadError, match=message):
        parse_webhook(body)


def test_a_non_bytes_body_is_refused():
    with pytest.raises(WebhookPayloadError, match="bytes"):
        parse_webhook('{"object":"whatsapp_business_account","entry":[]}')  # type: ignore[arg-type]


def test_an_integer_waba_id_is_read_as_its_string():
    batch = parse_webhook(b'{"object":"whatsapp_business_account","entry":[{"id":42,"changes":[]}]}')
    assert batch.changes == ()
    body = b'{"object":"whatsapp_business_account","entry":[{"id":42,"changes":[{"field":"x","value":{}}]}]}'
    assert parse_webhook(body).changes[0].waba_id == "42"


# --- messages: every type ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def every_type() -> MessagesChange:
    change = only_change("messages_every_type.json")
    assert isinstance(change, MessagesChange)
    return change


def by_suffix(change: MessagesChange, suffix: str):
    [message] = [m for m in change.messages if m.wamid.endswith(suffix)]
    return message


def test_every_message_of_the_batch_is_parsed_none_malformed(every_type):
    raw = load("messages_every_type.json")["entry"][0]["changes"][0]["value"]["messages"]
    assert every_type.malformed == ()
    assert [m.wamid for m in every_type.messages] == [m["id"] for m in raw]
    assert [m.type for m in every_type.messages] == [m["type"] for m in raw]
    assert [m.raw for m in every_type.messages] == raw
    assert all(m.from_wa_id == CUSTOMER and m.from_user_id is None for m in every_type.messages)
    assert [m.timestamp for m in every_type.messages] == [T0 + timedelta(seconds=i) for i in range(len(raw))]
    assert all(m.timestamp.tzinfo is timezone.utc for m in every_type.messages)
    assert [m.dedupe_key for m in every_type.messages] == [m["id"] for m in raw]


def test_metadata_and_contacts(every_type):
    assert every_type.phone_number_id == PNID
    assert every_type.display_phone_number == "15557010000"
    [contact] = every_type.contacts
    assert (contact.wa_id, contact.user_id, contact.parent_user_id, contact.profile_name) == (
        CUSTOMER,
        "GB.18273645546372819203",
        "GB.ENT.90817263544536271809",
        "Amelia Hart",
    )
    assert every_type.contact_for(wa_id=CUSTOMER) is contact
    assert every_type.contact_for(user_id="GB.18273645546372819203") is contact
    assert every_type.contact_for(wa_id="15550000000") is None


def test_text(every_type):
    message = by_suffix(every_type, "A1")
    assert message.body == TextBody(text="Hello, do you have a table for four tonight?")
    assert message.context is None and message.errors == () and message.referral is None


def test_image_with_caption(every_type):
    body = by_suffix(every_type, "A2").body
    assert isinstance(body, MediaBody)
    assert (body.kind, body.media_id, body.caption, body.mime_type) == (
        "image",
        "1487203917765432",
        "The menu I saw",
        MimeType("image/jpeg"),
    )
    assert body.sha256 == "K2mYxq6cJ7v1Q0cq1n0w4xXoZ9q5mWlq3C0v1bJfW0E=" and not body.voice


def test_voice_note_mime_type_is_parsed_with_its_parameters(every_type):
    body = by_suffix(every_type, "A3").body
    assert isinstance(body, MediaBody) and body.kind == "audio" and body.voice is True
    assert body.mime_type_raw == "audio/ogg; codecs=opus"
    assert body.mime_type.essence == "audio/ogg"
    assert body.mime_type.param("codecs") == "opus"
    assert (body.mime_type.type, body.mime_type.subtype) == ("audio", "ogg")
    assert str(body.mime_type) == "audio/ogg; codecs=opus"


def test_forwarded_video_has_a_context_without_a_replied_message(every_type):
    message = by_suffix(every_type, "A4")
    assert message.body.kind == "video" and message.body.mime_type.essence == "video/mp4"
    assert message.context.forwarded is True and message.context.frequently_forwarded is False
    assert message.context.message_id is None and message.context.sender is None


def test_document_keeps_its_filename(every_type):
    body = by_suffix(every_type, "A5").body
    assert (body.kind, body.filename, body.caption) == (
        "document",
        "booking form (signed).pdf",
        "Booking form",
    )
    assert body.mime_type.essence == "application/pdf"


def test_animated_sticker(every_type):
    body = by_suffix(every_type, "A6").body
    assert (body.kind, body.animated, body.mime_type.essence) == ("sticker", True, "image/webp")


def test_reaction_and_its_removal(every_type):
    added, removed = by_suffix(every_type, "A7").body, by_suffix(every_type, "A8").body
    assert added == ReactionBody(message_id="wamid.HBgMNDQ3OTExMTIzNDU2FQIAERgSOUTGOING01", emoji="👍")
    assert not added.removed
    assert removed.emoji is None and removed.removed
    assert removed.message_id == added.message_id


def test_reaction_without_an_emoji_key_is_a_removal():
    message = {**text_message(), "type": "reaction", "reaction": {"message_id": "wamid.Z"}}
    [parsed] = parse_messages_change(messages_value(message)).messages
    assert parsed.body.removed


def test_button_reply_with_its_reply_context(every_type):
    message = by_suffix(every_type, "A9")
    assert message.body == InteractiveReplyBody(
        kind="button_reply", reply_id="book-19h", title="7 pm", description=None
    )
    assert message.context.message_id == "wamid.HBgMNDQ3OTExMTIzNDU2FQIAERgSOUTGOING02"
    assert message.context.sender == "15557010000"


def test_list_reply_with_description(every_type):
    assert by_suffix(every_type, "B1").body == InteractiveReplyBody(
        kind="list_reply", reply_id="room-terrace", title="Terrace", description="Outdoor, heated"
    )


def test_flow_reply_decodes_its_response_json(every_type):
    body = by_suffix(every_type, "B2").body
    assert isinstance(body, FlowReplyBody)
    assert (body.name, body.body) == ("flow", "Sent")
    assert body.response == {"flow_token": "bk-2211", "party_size": "4", "notes": "window seat"}
    assert json.loads(body.response_json) == body.response


@pytest.mark.parametrize("response_json", ["not json", "[1, 2]", "null"])
def test_flow_reply_with_a_response_that_is_not_an_object_keeps_the_text(response_json):
    interactive = {"type": "nfm_reply", "nfm_reply": {"response_json": response_json, "name": "flow"}}
    message = {**text_message(), "type": "interactive", "interactive": interactive}
    [parsed] = parse_messages_change(messages_value(message)).messages
    assert parsed.body.response is None and parsed.body.response_json == response_json


def test_call_permission_replies(every_type):
    accepted, rejected = by_suffix(every_type, "B3").body, by_suffix(every_type, "B4").body
    assert isinstance(accepted, CallPermissionReplyBody)
    assert accepted.accepted and accepted.response == "accept"
    assert accepted.expiration == T0 + timedelta(days=7)
    assert accepted.response_source == "user_action" and accepted.is_permanent is None
    assert not rejected.accepted and rejected.expiration is None and rejected.response_source == "automatic"


def test_template_quick_reply_button(every_type):
    message = by_suffix(every_type, "B5")
    assert message.body == TemplateButtonBody(text="Confirm", payload="CONFIRM_BOOKING_2211")
    assert message.context.message_id.endswith("OUTGOING06")


def test_current_and_named_locations(every_type):
    current, named = by_suffix(every_type, "B6").body, by_suffix(every_type, "B7").body
    assert current == LocationBody(
        latitude=51.5007292, longitude=-0.1246254, name=None, address=None, url=None
    )
    assert isinstance(named, LocationBody) and named.name == "Eiffel Tower"
    assert named.address == "Av. Gustave Eiffel, 75007 Paris, France"
    assert named.url == "https://maps.example.com/?cid=123456789"


def test_contact_cards_are_kept_whole(every_type):
    message = by_suffix(every_type, "B8")
    assert isinstance(message.body, ContactsBody)
    assert list(message.body.contacts) == message.raw["contacts"]
    assert message.body.contacts[0]["emails"] == [{"email": "rafael@example.com", "type": "WORK"}]
    assert message.body.phones == ("5531996883193", "+44 20 7946 0958")


def test_order(every_type):
    body = by_suffix(every_type, "B9").body
    assert isinstance(body, OrderBody)
    assert (body.catalog_id, body.text) == ("481726354901234", "No onions please")
    assert [(i.product_retailer_id, i.quantity, i.item_price, i.currency) for i in body.items] == [
        ("BURGER-CLASSIC", 2, 12.5, "GBP"),
        ("FRIES-LARGE", 1, 4, "GBP"),
    ]


def test_system_number_change(every_type):
    assert by_suffix(every_type, "C1").body == SystemBody(
        kind="user_changed_number",
        body="Amelia Hart changed from 447911123456 to 447700900123",
        new_wa_id="447700900123",
    )


def test_unsupported_keeps_its_errors(every_type):
    message = by_suffix(every_type, "C2")
    assert message.body == UnsupportedBody(unsupported_type="poll")
    [error] = message.errors
    assert (error.code, error.title, error.details) == (
        131051,
        "Message type unknown",
        "Message type is currently not supported.",
    )


def test_unknown_types_are_kept_with_their_content(every_type):
    message = by_suffix(every_type, "C3")
    assert message.body == UnknownBody(
        type="revoke", content={"original_message_id": "wamid.HBgMNDQ3OTExMTIzNDU2FQIAEhgA1"}
    )


def test_unknown_fields_are_kept_in_the_raw_message_and_referral_is_read(every_type):
    message = by_suffix(every_type, "C4")
    assert message.raw["brand_new_field"] == {"kept": True}
    assert message.raw["text"]["preview_url"] is False
    assert message.referral["ctwa_clid"] == "ARAkLkA8rmlFeiCktEJQ"
    assert message.body == TextBody(text="Reply to your confirmation")


def test_unknown_interactive_sub_type_is_kept():
    interactive = {"type": "future_reply", "future_reply": {"choice": 3}}
    message = {**text_message(), "type": "interactive", "interactive": interactive}
    [parsed] = parse_messages_change(messages_value(message)).messages
    assert parsed.body == UnknownBody(type="interactive.future_reply", content=interactive)


def test_interactive_without_its_object_comes_with_the_value_level_error():
    change = only_change("value_level_error.json")
    [message] = change.messages
    assert message.type == "interactive" and message.body == UnknownBody(type="interactive", content=None)
    [error] = change.errors
    assert (error.code, error.message, error.details) == (
        131000,
        "Something went wrong",
        "Unsupported webhook payload",
    )


def test_a_sender_known_only_by_business_scoped_user_id():
    change = only_change("bsuid_only_sender.json")
    [message] = change.messages
    assert message.from_wa_id is None and message.from_user_id == "GB.55501234567890123456"
    contact = change.contact_for(user_id=message.from_user_id)
    assert (
        contact.wa_id is None and contact.username == "@quiet.user" and contact.profile_name == "Quiet User"
    )


def test_an_integer_timestamp_is_accepted():
    [parsed] = parse_messages_change(messages_value(text_message(timestamp=1764230400))).messages
    assert parsed.timestamp == T0


# --- messages: one bad item does not lose the others ---------------------------------------------


def test_malformed_messages_are_reported_and_their_neighbours_parsed():
    value = copy.deepcopy(load("messages_every_type.json")["entry"][0]["changes"][0]["value"])
    raw = value["messages"]
    del raw[1]["id"]
    raw[3] = "not a message"
    raw[5]["timestamp"] = "yesterday"
    raw[0]["text"] = {}
    raw[14]["location"]["latitude"] = 123.0
    del raw[9]["from"]
    change = parse_messages_change(value)
    assert [(m.kind, m.index) for m in change.malformed] == [
        ("message", 0),
        ("message", 1),
        ("message", 3),
        ("message", 5),
        ("message", 9),
        ("message", 14),
    ]
    reasons = [m.reason for m in change.malformed]
    assert "text message without text.body" in reasons[0]
    assert "without an id" in reasons[1]
    assert "not an object" in reasons[2]
    assert "no valid timestamp" in reasons[3]
    assert "neither from nor from_user_id" in reasons[4]
    assert "latitude" in reasons[5]
    assert [m.raw for m in change.malformed] == [raw[i] for i in (0, 1, 3, 5, 9, 14)]
    assert len(change.messages) == len(raw) - 6
    assert len({m.dedupe_key for m in change.malformed}) == 6


def test_a_malformed_items_dedupe_key_is_stable_across_deliveries():
    value = messages_value({"id": "wamid.broken"})
    first = parse_messages_change(value).malformed[0]
    again = parse_messages_change(json.loads(json.dumps(value))).malformed[0]
    assert first.dedupe_key == again.dedupe_key


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "messages change value must be an object"),
        ({}, "without metadata.phone_number_id"),
        ({"metadata": {"display_phone_number": "1"}}, "without metadata.phone_number_id"),
        ({"metadata": {"phone_number_id": PNID}, "messages": {}}, "value.messages must be a list"),
        ({"metadata": {"phone_number_id": PNID}, "statuses": "x"}, "value.statuses must be a list"),
        ({"metadata": {"phone_number_id": PNID}, "contacts": 1}, "value.contacts must be a list"),
        ({"metadata": {"phone_number_id": PNID}, "errors": {}}, "value.errors must be a list"),
    ],
)
def test_malformed_messages_changes_are_refused_with_a_clear_message(value, message):
    with pytest.raises(WebhookPayloadError, match=message):
        parse_messages_change(value)


def test_bad_contacts_and_errors_are_reported_too():
    value = messages_value(text_message(), contacts=["x", {"wa_id": CUSTOMER}], errors=[{"code": 1}, 7])
    change = parse_messages_change(value)
    assert [(m.kind, m.index) for m in change.malformed] == [("contact", 0), ("error", 1)]
    assert change.contacts[0].wa_id == CUSTOMER and change.errors[0].code == 1


# --- statuses ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def statuses() -> MessagesChange:
    change = only_change("statuses_batch.json")
    assert change.malformed == () and change.messages == ()
    return change


def test_every_status_is_kept_in_order(statuses):
    assert [s.status for s in statuses.statuses] == [
        "sent",
        "delivered",
        "read",
        "played",
        "failed",
        "deleted",
    ]
    assert [s.timestamp - T0 for s in statuses.statuses] == [
        timedelta(seconds=s) for s in (0, 2, 30, 40, 50, 60)
    ]


def test_sent_status_with_conversation_and_pricing(statuses):
    sent = statuses.statuses[0]
    assert sent.wamid == "wamid.HBgMNDQ3OTExMTIzNDU2FQIAERgSOUTGOING01"
    assert (sent.recipient_id, sent.recipient_user_id) == (CUSTOMER, "GB.18273645546372819203")
    assert sent.conversation.id == "b8c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5"
    assert sent.conversation.expiration == T0 + timedelta(days=1)
    assert sent.conversation.origin_type == "service"
    assert (sent.pricing.billable, sent.pricing.pricing_model, sent.pricing.category, sent.pricing.type) == (
        False,
        "PMP",
        "service",
        "free_customer_service",
    )
    assert statuses.statuses[1].conversation.expiration is None
    assert statuses.statuses[2].conversation is None and statuses.statuses[2].pricing is None


def test_failed_status_carries_its_errors_and_tracking_data(statuses):
    failed = statuses.statuses[4]
    assert failed.biz_opaque_callback_data == "voice-agent:msg-0042"
    [error] = failed.errors
    assert error.code == 131047 and error.title == "Re-engagement message"
    assert error.details.startswith("Message failed to send because more than 24 hours")
    assert error.href.endswith("/error-codes/")


def test_new_statuses_are_kept_as_received(statuses):
    assert statuses.statuses[3].status == "played"
    assert statuses.statuses[5].status == "deleted" and statuses.statuses[5].raw["status"] == "deleted"


def test_status_dedupe_keys_identify_wamid_status_and_time(statuses):
    keys = [s.dedupe_key for s in statuses.statuses]
    assert len(set(keys)) == len(keys)
    again = only_change("statuses_batch.json")
    assert [s.dedupe_key for s in again.statuses] == keys
    value = copy.deepcopy(load("statuses_batch.json")["entry"][0]["changes"][0]["value"])
    first = value["statuses"][0]
    first["timestamp"] = str(int(first["timestamp"]) + 1)
    assert parse_messages_change(value).statuses[0].dedupe_key != keys[0]
    first["timestamp"] = int(first["timestamp"]) - 1  # the same instant as a JSON integer
    assert parse_messages_change(value).statuses[0].dedupe_key == keys[0]


def test_a_call_status_in_the_messages_field_is_recognised_as_a_call_status():
    call_status = {
        "id": "wacid.Q1",
        "timestamp": "1764230401",
        "type": "call",
        "status": "RINGING",
        "recipient_id": CUSTOMER,
    }
    message_status = {"id": "wamid.Q2", "timestamp": "1764230402", "status": "sent", "recipient_id": CUSTOMER}
    change = parse_messages_change(messages_value(statuses=[message_status, call_status]))
    assert [s.wamid for s in change.statuses] == ["wamid.Q2"]
    [call] = change.call_statuses
    assert (call.wacid, call.status, call.recipient_id) == ("wacid.Q1", "RINGING", CUSTOMER)


def test_malformed_statuses_are_reported_with_their_position():
    good = {"id": "wamid.G", "timestamp": "1764230400", "status": "read"}
    value = messages_value(
        statuses=[
            {"timestamp": "1764230400", "status": "read"},
            good,
            {"id": "wamid.N", "timestamp": "1764230400", "status": ""},
            {"id": "wamid.T", "status": "read"},
            {"id": "wacid.C", "type": "call", "timestamp": "soon", "status": "ACCEPTED"},
        ]
    )
    change = parse_messages_change(value)
    assert [s.wamid for s in change.statuses] == ["wamid.G"]
    assert [(m.kind, m.index) for m in change.malformed] == [
        ("status", 0),
        ("status", 2),
        ("status", 3),
        ("call_status", 4),
    ]


# --- calls ---------------------------------------------------------------------------------------


def test_user_initiated_connect_carries_the_sdp_offer():
    change = only_change("calls_user_initiated_connect.json")
    assert isinstance(change, CallsChange) and change.malformed == ()
    [call] = change.calls
    assert call.wacid == "wacid.HBgMNDQ3OTExMTIzNDU2FQIAEhggQ0FMTElOQ09NSU5HMDE="
    assert (call.event, call.direction, call.from_number, call.to_number) == (
        "connect",
        "USER_INITIATED",
        CUSTOMER,
        "15557010000",
    )
    assert call.timestamp == T0
    assert call.session.sdp_type == "offer"
    assert call.session.sdp.startswith("v=0\r\n") and "a=ice-lite" in call.session.sdp
    assert (call.status, call.start_time, call.end_time, call.duration_seconds) == (None, None, None, None)
    assert change.contacts[0].profile_name == "Amelia Hart"


def test_terminate_carries_status_times_duration_and_errors():
    change = only_change("calls_user_initiated_terminate.json")
    [call] = change.calls
    assert (call.event, call.status, call.duration_seconds) == ("terminate", "FAILED", 21)
    assert call.start_time == T0 + timedelta(seconds=3) and call.end_time == T0 + timedelta(seconds=24)
    assert call.session is None
    assert [e.code for e in call.errors] == [138021] and [e.code for e in change.errors] == [138021]
    assert call.errors[0].details == "No media received for 20 seconds"


def test_business_initiated_call_ringing_answer_accepted_and_completed():
    batch = parse_webhook(body_of("calls_business_initiated.json"))
    ringing, connect, accepted, terminate = (change.parse() for change in batch.changes)
    [ringing_status] = ringing.statuses
    assert (ringing_status.status, ringing_status.biz_opaque_callback_data) == (
        "RINGING",
        "voice-call:VC-0007",
    )
    [answer] = connect.calls
    assert (answer.direction, answer.session.sdp_type) == ("BUSINESS_INITIATED", "answer")
    assert "a=setup:passive" in answer.session.sdp
    assert answer.raw["connection"]["webrtc"]["sdp"] == answer.session.sdp
    assert accepted.statuses[0].status == "ACCEPTED"
    [ended] = terminate.calls
    assert (ended.status, ended.duration_seconds) == ("COMPLETED", 120)
    assert ended.end_time - ended.start_time == timedelta(seconds=120)
    assert len({ringing_status.wacid, answer.wacid, accepted.statuses[0].wacid, ended.wacid}) == 1


def test_rejected_call_status():
    [status] = only_change("calls_rejected.json").statuses
    assert status.status == "REJECTED" and status.timestamp == T0 + timedelta(seconds=3)


def test_call_dedupe_keys_are_per_call_and_event_or_status():
    batch = parse_webhook(body_of("calls_business_initiated.json"))
    ringing, connect, accepted, terminate = (change.parse() for change in batch.changes)
    keys = [ringing.statuses[0].dedupe_key, connect.calls[0].dedupe_key, accepted.statuses[0].dedupe_key]
    keys.append(terminate.calls[0].dedupe_key)
    assert len(set(keys)) == 4
    redelivered = parse_webhook(body_of("calls_business_initiated.json")).changes[1].parse()
    assert redelivered.calls[0].dedupe_key == connect.calls[0].dedupe_key
    user_call = only_change("calls_user_initiated_connect.json").calls[0]
    assert user_call.dedupe_key != connect.calls[0].dedupe_key


def test_call_duration_given_as_a_string_is_read_and_nonsense_is_dropped():
    call = {"id": "wacid.D", "event": "terminate", "timestamp": "1764230400", "status": "COMPLETED"}
    value = {
        "metadata": {"phone_number_id": PNID},
        "calls": [{**call, "duration": "45"}, {**call, "duration": -3}],
    }
    assert [c.duration_seconds for c in parse_calls_change(value).calls] == [45, None]


def test_malformed_calls_are_reported_and_the_others_kept():
    good = {
        "id": "wacid.G",
        "event": "connect",
        "timestamp": "1764230400",
        "session": {"sdp_type": "offer", "sdp": "v=0"},
    }
    value = {
        "metadata": {"phone_number_id": PNID},
        "calls": [
            {"event": "connect", "timestamp": "1764230400"},
            good,
            {
                "id": "wacid.S",
                "event": "connect",
                "timestamp": "1764230400",
                "session": {"sdp_type": "offer"},
            },
            {"id": "wacid.E", "timestamp": "1764230400"},
            None,
        ],
        "statuses": [{"id": "wacid.G", "status": "RINGING"}],
    }
    change = parse_calls_change(value)
    assert [c.wacid for c in change.calls] == ["wacid.G"]
    assert [(m.kind, m.index) for m in change.malformed] == [
        ("call", 0),
        ("call", 2),
        ("call", 3),
        ("call", 4),
        ("call_status", 0),
    ]
    assert "session without sdp_type and sdp" in change.malformed[1].reason


def test_calls_change_needs_metadata():
    with pytest.raises(WebhookPayloadError, match="calls change without metadata.phone_number_id"):
        parse_calls_change({"calls": []})


# --- timestamps and MIME types -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1764230400", T0),
        (1764230400, T0),
        ("0", datetime(1970, 1, 1, tzinfo=timezone.utc)),
        ("253402300799", datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)),
        ("253402300800", None),
        ("-1", None),
        (-1, None),
        ("1764230400.5", None),
        (" 1764230400", None),
        ("١٧٦٤٢٣٠٤٠٠", None),
        (True, None),
        (1764230400.0, None),
        ("", None),
        (None, None),
        ("9" * 400, None),
    ],
)
def test_unix_seconds(value, expected):
    assert parse_unix_seconds(value) == expected


@pytest.mark.parametrize(
    ("raw", "essence", "params"),
    [
        ("audio/ogg; codecs=opus", "audio/ogg", (("codecs", "opus"),)),
        ("Audio/OGG;Codecs=Opus", "audio/ogg", (("codecs", "Opus"),)),
        ("image/jpeg", "image/jpeg", ()),
        ("image/jpeg;", "image/jpeg", ()),
        (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            (),
        ),
        (
            'text/plain; charset="utf-8"; format=flowed',
            "text/plain",
            (("charset", "utf-8"), ("format", "flowed")),
        ),
        ('text/plain; name="a;b \\"c\\".txt"', "text/plain", (("name", 'a;b "c".txt'),)),
        ("text/plain; charset=utf-8; charset=latin1", "text/plain", (("charset", "utf-8"),)),
        ("text/plain; novalue; x=1", "text/plain", (("x", "1"),)),
        ("text/plain; bad name=1; ok=2", "text/plain", (("ok", "2"),)),
    ],
)
def test_mime_types_are_parsed_with_their_parameters(raw, essence, params):
    parsed = parse_mime_type(raw)
    assert (parsed.essence, parsed.params) == (essence, params)


@pytest.mark.parametrize(
    "raw", ["", "jpeg", "/jpeg", "image/", "image/jp eg", "image / jpeg", "a/b" * 100, None, 7]
)
def test_what_is_not_a_media_type_is_none(raw):
    assert parse_mime_type(raw) is None


def test_media_with_an_unreadable_mime_type_keeps_the_raw_text():
    media = {"id": "123", "mime_type": "garbage"}
    message = {**text_message(), "type": "image", "image": media}
    [parsed] = parse_messages_change(messages_value(message)).messages
    assert parsed.body.mime_type is None and parsed.body.mime_type_raw == "garbage"


def test_mime_parameters_that_are_not_tokens_are_written_quoted():
    mime = MimeType("text/plain", (("name", 'a b;"c"'), ("charset", "utf-8")))
    assert str(mime) == 'text/plain; name="a b;\\"c\\""; charset=utf-8'
    assert parse_mime_type(str(mime)) == mime


tokens = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789!#$&^_.+-", min_size=1, max_size=12)


@settings(max_examples=500, deadline=None)
@given(
    main=tokens,
    sub=tokens,
    params=st.dictionaries(
        tokens, st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12), max_size=4
    ),
)
def test_any_media_type_round_trips_through_its_text(main, sub, params):
    mime = MimeType(f"{main}/{sub}", tuple(params.items()))
    assert parse_mime_type(str(mime)) == mime


@settings(max_examples=1000, deadline=None)
@given(st.text(max_size=120))
def test_mime_parsing_never_fails_and_round_trips(raw):
    parsed = parse_mime_type(raw)
    if parsed is None:
        return
    assert parsed.essence == parsed.essence.lower() and parsed.essence.count("/") == 1
    assert len({name for name, _ in parsed.params}) == len(parsed.params)
    assert parse_mime_type(str(parsed)) == parsed


# --- fuzzing -------------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=24)
    | st.sampled_from(["1764230400", "wamid.X", "text", "interactive", "call", "sent", "", "image/jpeg"])
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=24,
)


INTERESTING = [
    None,
    True,
    False,
    0,
    -1,
    2**63,
    10**40,
    1.5,
    -0.0,
    1e308,
    "",
    " ",
    "1764230400",
    "-5",
    "99999999999999",
    "wamid.X",
    "wacid.Y",
    "text",
    "image",
    "interactive",
    "button_reply",
    "nfm_reply",
    "call_permission_reply",
    "call",
    "sent",
    "read",
    "connect",
    "terminate",
    "offer",
    "audio/ogg; codecs=opus",
    "image/",
    "\ud800",
    "é👍",
    '{"a": 1}',
    "[]",
]


def random_json(rng: random.Random, depth: int = 0) -> object:
    roll = rng.random()
    if depth > 2 or roll < 0.6:
        return (
            rng.choice(INTERESTING)
            if rng.random() < 0.7
            else "".join(chr(rng.randrange(0x20, 0x2FF)) for _ in range(rng.randrange(6)))
        )
    if roll < 0.8:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {
        rng.choice(["id", "type", "body", "x", ""]): random_json(rng, depth + 1)
        for _ in range(rng.randrange(4))
    }


def mutate(node: object, rng: random.Random, rate: float) -> object:
    """`node` with random sub-trees replaced, keys dropped or added, list items dropped or duplicated."""
    if rng.random() < rate:
        return random_json(rng)
    if isinstance(node, dict):
        result = {key: mutate(child, rng, rate) for key, child in node.items() if rng.random() >= rate}
        if rng.random() < rate:
            result[rng.choice(["id", "type", "extra", "errors", "context"])] = random_json(rng)
        return result
    if isinstance(node, list):
        result = []
        for child in node:
            roll = rng.random()
            if roll < rate:
                continue
            result.append(mutate(child, rng, rate))
            if roll < 2 * rate:
                result.append(mutate(child, rng, rate))
        return result
    return node


def count_items(change, value: dict) -> None:
    """Nothing is dropped: every raw item comes back parsed or as a MalformedItem."""
    kinds = [m.kind for m in change.malformed]
    raw_len = {
        key: len(value.get(key) or []) for key in ("contacts", "messages", "statuses", "calls", "errors")
    }
    assert len(change.contacts) + kinds.count("contact") == raw_len["contacts"]
    assert len(change.errors) + kinds.count("error") == raw_len["errors"]
    if isinstance(change, MessagesChange):
        assert len(change.messages) + kinds.count("message") == raw_len["messages"]
        parsed_statuses = len(change.statuses) + len(change.call_statuses)
        assert parsed_statuses + kinds.count("status") + kinds.count("call_status") == raw_len["statuses"]
        for message in change.messages:
            assert isinstance(message.wamid, str) and message.timestamp.tzinfo is timezone.utc
            assert message.from_wa_id or message.from_user_id
            assert isinstance(message.raw, dict)
    else:
        assert len(change.calls) + kinds.count("call") == raw_len["calls"]
        assert len(change.statuses) + kinds.count("call_status") == raw_len["statuses"]
    for item in change.malformed:
        assert len(item.dedupe_key) == 64 and item.reason


def parse_everything(body: bytes) -> None:
    try:
        batch = parse_webhook(body)
    except WebhookPayloadError:
        return
    for change in batch.changes:
        try:
            parsed = change.parse()
        except WebhookPayloadError:
            continue
        if parsed is not None:
            count_items(parsed, change.value)
            for item in (*getattr(parsed, "messages", ()), *parsed.statuses, *getattr(parsed, "calls", ())):
                assert len(item.dedupe_key) > 0


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=4096))
def test_fuzz_arbitrary_bytes_only_ever_raise_webhook_payload_error(body):
    parse_everything(body)


@settings(max_examples=500, deadline=None)
@given(entry=json_values, obj=st.sampled_from(["whatsapp_business_account", "page", None]))
def test_fuzz_arbitrary_json_envelopes(entry, obj):
    parse_everything(json.dumps({"object": obj, "entry": entry}).encode())


@settings(max_examples=500, deadline=None)
@given(field=st.sampled_from(["messages", "calls"]), value=json_values)
def test_fuzz_arbitrary_json_change_values(field, value):
    parse_everything(envelope(field, value))


@settings(max_examples=3000, deadline=None)
@given(
    name=st.sampled_from(FIXTURE_NAMES), seed=st.integers(0, 2**32), rate=st.sampled_from([0.01, 0.03, 0.1])
)
def test_fuzz_mutated_real_payloads(name, seed, rate):
    # The mutation runs on a seeded PRNG (hypothesis picks the seed): thousands of draws per payload
    # would make each example slow without finding more.
    body = mutate(load(name), random.Random(seed), rate)
    parse_everything(json.dumps(body).encode())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    field=st.sampled_from(["messages", "calls"]),
    items=st.lists(
        json_values
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "from",
                    "timestamp",
                    "type",
                    "text",
                    "event",
                    "status",
                    "session",
                    "image",
                    "interactive",
                    "context",
                    "errors",
                ]
            ),
            json_values,
            max_size=8,
        ),
        max_size=6,
    ),
    key=st.sampled_from(["messages", "statuses", "calls", "contacts", "errors"]),
)
def test_fuzz_item_lists_never_lose_an_item(field, items, key):
    value = {"metadata": {"phone_number_id": PNID}, key: items}
    change = parse_messages_change(value) if field == "messages" else parse_calls_change(value)
    count_items(change, value)
