"""WhatsApp call rules without Frappe: call hours, the call permission from Graph's answer and from the
customer's reply, and how a call ends for each thing Meta tells us."""

from datetime import datetime, time, timedelta, timezone

import pytest

from voice_agent.calling import states
from voice_agent.integrations.whatsapp import call_rules as r
from voice_agent.integrations.whatsapp.errors import KNOWN_CODES

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc)  # a Monday
CALLING_CODES = sorted(c for c in KNOWN_CODES if 138000 <= c <= 138999)


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


# --- call hours --------------------------------------------------------------------------------------


def test_no_call_hours_means_always_open():
    assert r.within_call_hours([], datetime(2026, 11, 29, 3, 0))


def test_call_hours_by_weekday_with_the_end_excluded():
    spans = r.call_hours([("Monday", "09:00", "17:30"), ("Saturday", time(10), time(12))])
    monday = datetime(2026, 11, 30)
    assert r.within_call_hours(spans, monday.replace(hour=9))
    assert r.within_call_hours(spans, monday.replace(hour=17, minute=29, second=59))
    assert not r.within_call_hours(spans, monday.replace(hour=17, minute=30))
    assert not r.within_call_hours(spans, monday.replace(hour=8, minute=59))
    assert not r.within_call_hours(spans, datetime(2026, 12, 1, 10))  # Tuesday: no span
    assert r.within_call_hours(spans, datetime(2026, 12, 5, 11))  # Saturday


def test_a_span_ending_at_midnight_runs_to_the_end_of_the_day_and_times_may_be_timedeltas():
    spans = r.call_hours([("Sunday", timedelta(hours=20), timedelta(0))])
    assert r.within_call_hours(spans, datetime(2026, 11, 29, 23, 59, 59))
    assert not r.within_call_hours(spans, datetime(2026, 11, 29, 19, 59))


@pytest.mark.parametrize("row, message", [
    (("Funday", "09:00", "10:00"), "not a weekday"),
    (("Monday", "18:00", "09:00"), "ends .* before it starts"),
    (("Monday", "9 am", "10:00"), "not a time of day"),
    (("Monday", timedelta(hours=25), "10:00"), "not a time of day"),
])
def test_bad_call_hours_name_the_row(row, message):
    with pytest.raises(ValueError, match=f"row 1: .*{message}"):
        r.call_hours([row])


# --- permission --------------------------------------------------------------------------------------


def graph_answer(status, *, expires=None, calls_used=0, calls_max=100, requests=((0, 1), (0, 2)),
                 can_call=None, can_request=None):
    permission = {"status": status}
    if expires is not None:
        permission["expiration_time"] = expires
    request_limits = [{"time_period": p, "max_allowed": m, "current_usage": u}
                      for p, (u, m) in zip(("PT24H", "P7D"), requests, strict=True)]
    for limit in request_limits:
        if limit["current_usage"] >= limit["max_allowed"]:
            limit["limit_expiration_time"] = unix(NOW + timedelta(hours=20))
    call_limit = {"time_period": "PT24H", "max_allowed": calls_max, "current_usage": calls_used}
    if calls_used >= calls_max:
        call_limit["limit_expiration_time"] = unix(NOW + timedelta(hours=3))
    actions = [{"action_name": "send_call_permission_request", "limits": request_limits},
               {"action_name": "start_call", "limits": [call_limit]}]
    if can_request is not None:
        actions[0]["can_perform_action"] = can_request
    if can_call is not None:
        actions[1]["can_perform_action"] = can_call
    return {"messaging_product": "whatsapp", "permission": permission, "actions": actions}


def test_temporary_permission_with_its_expiry_and_the_limits_graph_gave():
    expires = unix(NOW + timedelta(days=6))
    permission = r.permission_from_graph(graph_answer("temporary", expires=expires, calls_used=3, calls_max=5), NOW)
    assert (permission.state, permission.expires_at) == ("Temporary", datetime.fromtimestamp(expires, timezone.utc))
    assert permission.can_call and permission.can_request
    assert permission.calls_remaining == 2  # Graph said 5 a day here, not the 100 of another answer
    assert permission.requests_remaining == 1
    assert permission.next_call_at is None and permission.next_request_at is None
    assert permission.call_limits[0].as_dict() == {"time_period": "PT24H", "max_allowed": 5, "current_usage": 3,
                                                   "remaining": 2, "limit_expiration_time": None}


def test_no_permission_cannot_call_whatever_the_limits():
    permission = r.permission_from_graph(graph_answer("no_permission"), NOW)
    assert (permission.state, permission.can_call, permission.can_request) == ("No permission", False, True)
    assert permission.next_call_at is None


def test_an_expired_temporary_permission_counts_as_none():
    permission = r.permission_from_graph(graph_answer("temporary", expires=unix(NOW - timedelta(seconds=1))), NOW)
    assert (permission.state, permission.expires_at, permission.can_call) == ("No permission", None, False)


def test_after_our_request_the_request_limits_count_it():
    permission = r.permission_from_graph(graph_answer("no_permission", requests=((0, 1), (1, 2))), NOW)
    assert (permission.can_request, permission.requests_remaining) == (True, 1)
    asked = permission.after_request()
    assert (asked.can_request, asked.requests_remaining, asked.state) == (False, 0, "No permission")
    assert [limit.current_usage for limit in asked.request_limits] == [1, 2]
    roomy = r.permission_from_graph(graph_answer("no_permission", requests=((0, 3), (0, 5))), NOW).after_request()
    assert (roomy.can_request, roomy.requests_remaining) == (True, 2)


def test_reached_limits_say_when_they_lift():
    permission = r.permission_from_graph(graph_answer("permanent", calls_used=5, calls_max=5,
                                                      requests=((1, 1), (1, 2))), NOW)
    assert (permission.state, permission.can_call, permission.can_request) == ("Permanent", False, False)
    assert permission.next_call_at == NOW + timedelta(hours=3)
    assert permission.next_request_at == NOW + timedelta(hours=20)


def test_graphs_own_can_perform_action_wins_over_counting():
    permission = r.permission_from_graph(graph_answer("permanent", can_call=False, can_request=False), NOW)
    assert not permission.can_call and not permission.can_request


def test_an_unknown_permission_status_is_an_error():
    with pytest.raises(ValueError, match="unknown call permission status"):
        r.permission_from_graph({"permission": {"status": "maybe"}}, NOW)
    with pytest.raises(ValueError):
        r.permission_from_graph({}, NOW)


def test_permission_from_the_customers_reply():
    later = NOW + timedelta(days=7)
    assert r.permission_from_reply(True, later, None, NOW) == ("Temporary", later)
    assert r.permission_from_reply(True, None, True, NOW) == ("Permanent", None)
    assert r.permission_from_reply(False, later, None, NOW) == ("No permission", None)
    assert r.permission_from_reply(True, NOW - timedelta(seconds=1), False, NOW) == ("No permission", None)


# --- endings -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", CALLING_CODES)
def test_every_calling_error_code_fails_the_call_with_its_sentence(code):
    ending = r.error_ending(code)
    assert (ending.state, ending.reason, ending.error_code) == ("failed", "whatsapp_error", code)
    assert ending.message and "WhatsApp error" not in ending.message  # a known code: its own sentence
    assert ending.reason in states.end_reasons() and states.is_terminal(ending.state)


def test_an_unknown_calling_code_still_says_which():
    ending = r.error_ending(138999, "Something new")
    assert ending.reason == "whatsapp_error" and "138999" in ending.message and "Something new" in ending.message


def test_terminate_endings():
    hung_up = r.terminate_ending(inbound=True, answered=True, status="COMPLETED")
    assert (hung_up.state, hung_up.reason, hung_up.ended_by) == ("ended", "remote_hangup", "whatsapp")
    gone_while_ringing = r.terminate_ending(inbound=True, answered=False, status="FAILED")
    assert (gone_while_ringing.state, gone_while_ringing.reason, gone_while_ringing.ended_by) == \
        ("missed", "no_answer", "whatsapp")
    not_picked_up = r.terminate_ending(inbound=False, answered=False, status="FAILED")
    assert (not_picked_up.state, not_picked_up.reason) == ("missed", "no_answer")
    no_media = r.terminate_ending(inbound=False, answered=True, status="FAILED", error_codes=[None, 138021])
    assert (no_media.state, no_media.reason, no_media.error_code) == ("failed", "whatsapp_error", 138021)
    assert "no audio" in no_media.message
    rejected = r.rejected_ending()
    assert (rejected.state, rejected.reason, rejected.ended_by) == ("ended", "rejected", "whatsapp")
    for ending in (hung_up, gone_while_ringing, not_picked_up, no_media, rejected):
        assert ending.reason in states.end_reasons()


def test_the_whatsapp_participant_id_fits_the_contract():
    import re

    from voice_agent.contracts import load

    pattern = load("sidecar-http.schema.json")["$defs"]["ParticipantId"]["pattern"]
    for wa_id in ("16505551234", "US.13491208655302741918"):
        assert re.fullmatch(pattern, r.whatsapp_participant_id(wa_id))
