from datetime import datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voice_agent.agent.matching import match_item
from voice_agent.agent.scheduling import nearest_free_slots, overlaps, within_hours
from voice_agent.agent.tools import TOOLS, ToolArgumentError, available_tools, idempotency_key, validate_args
from voice_agent.integrations.ultravox.tools import TOOL_SECRET_HEADER, selected_tools
from voice_agent.web.periods import resolve_period

GOOD = {
    "book_appointment": {"customer_name": "Ann", "phone": "+1 555 0100", "date": "2026-12-01", "time": "9:30"},
    "place_restaurant_order": {"customer_name": "Bo", "phone": "5550101", "items": [{"item": "Pizza", "qty": 2}]},
    "create_support_ticket": {"customer_name": "Cy", "subject": "Broken", "description": "It broke"},
}


@pytest.mark.parametrize("tool", list(GOOD))
def test_valid_arguments_pass(tool):
    assert validate_args(tool, GOOD[tool])


def test_time_is_normalised_and_blanks_dropped():
    args = validate_args("book_appointment", {**GOOD["book_appointment"], "notes": "", "service": None})
    assert args["time"] == "09:30" and "notes" not in args and "service" not in args


@pytest.mark.parametrize(
    "tool,change,spoken",
    [
        ("book_appointment", {"date": "2026-02-30"}, "not a valid date"),
        ("book_appointment", {"time": "25:00"}, "not a valid time"),
        ("book_appointment", {"phone": None, "email": None}, "phone number or an email"),
        ("book_appointment", {"customer_name": ""}, "your name"),
        ("place_restaurant_order", {"items": []}, "what you would like to order"),
        ("place_restaurant_order", {"items": [{"item": "Pizza", "qty": -1}]}, "what you would like"),
        ("place_restaurant_order", {"phone": "call me"}, "phone number"),
        ("create_support_ticket", {"subject": "x"}, "short subject"),
        ("create_support_ticket", {"surprise": 1}, "do not understand"),
    ],
)
def test_invalid_arguments_give_a_spoken_reason(tool, change, spoken):
    args = {**GOOD[tool], **change}
    with pytest.raises(ToolArgumentError, match=spoken):
        validate_args(tool, args)


def test_unknown_tool_and_non_object_refused():
    with pytest.raises(ToolArgumentError):
        validate_args("drop_tables", {})
    with pytest.raises(ToolArgumentError):
        validate_args("book_appointment", ["a"])


@settings(max_examples=300, deadline=None)
@given(tool=st.sampled_from(list(TOOLS)),
       args=st.dictionaries(st.sampled_from(["customer_name", "phone", "date", "time", "items", "subject",
                                             "description", "email", "x"]),
                            st.none() | st.integers() | st.text(max_size=30) | st.lists(st.dictionaries(
                                st.sampled_from(["item", "qty"]), st.integers() | st.text(max_size=5)), max_size=3),
                            max_size=8))
def test_fuzz_tool_arguments_never_crash(tool, args):
    try:
        validate_args(tool, args)
    except ToolArgumentError:
        pass


def test_tool_list_depends_on_installed_doctypes():
    enabled = ["book_appointment", "place_restaurant_order", "create_support_ticket", "unknown"]
    plain_frappe = {"Event"}
    erpnext = {"Event", "Appointment", "Sales Order", "Customer", "Item", "Item Price", "Issue"}
    helpdesk = erpnext | {"HD Ticket"}
    assert [(t.tool, t.doctype) for t in available_tools(enabled, plain_frappe.__contains__)] == [
        ("book_appointment", "Event")]
    assert [(t.tool, t.doctype) for t in available_tools(enabled, erpnext.__contains__)] == [
        ("book_appointment", "Appointment"), ("place_restaurant_order", "Sales Order"),
        ("create_support_ticket", "Issue")]
    assert ("create_support_ticket", "HD Ticket") in [
        (t.tool, t.doctype) for t in available_tools(enabled, helpdesk.__contains__)]
    assert available_tools(["create_support_ticket"], plain_frappe.__contains__) == []


def test_idempotency_key_ignores_case_spacing_and_order():
    a = idempotency_key("VS-1", "create_support_ticket", {"subject": "Broken  Tap", "customer_name": "Ann"})
    b = idempotency_key("VS-1", "create_support_ticket", {"customer_name": "ann", "subject": "broken tap"})
    c = idempotency_key("VS-2", "create_support_ticket", {"customer_name": "ann", "subject": "broken tap"})
    assert a == b != c


def test_selected_tools_carry_session_and_secret():
    targets = available_tools(["create_support_ticket"], {"Issue"}.__contains__)
    tools = selected_tools(targets, lambda t: f"https://x/api/method/{t}", "VS-9", "sek")
    tool = tools[0]["temporaryTool"]
    assert tool["modelToolName"] == "create_support_ticket"
    assert tool["http"] == {"baseUrlPattern": "https://x/api/method/create_support_ticket", "httpMethod": "POST"}
    static = {p["name"]: p for p in tool["staticParameters"]}
    assert static[TOOL_SECRET_HEADER] == {"name": TOOL_SECRET_HEADER, "location": "PARAMETER_LOCATION_HEADER",
                                          "value": "sek"}
    assert static["voice_session"]["value"] == "VS-9"
    required = {p["name"] for p in tool["dynamicParameters"] if p["required"]}
    assert required == {"customer_name", "subject", "description"}


D = datetime(2026, 12, 1)
NINE, FIVE = time(9), time(17)


def test_overlap_edges():
    busy = [(D.replace(hour=10), D.replace(hour=11))]
    assert overlaps(D.replace(hour=10, minute=30), D.replace(hour=11, minute=30), busy)
    assert not overlaps(D.replace(hour=11), D.replace(hour=12), busy)
    assert not overlaps(D.replace(hour=9), D.replace(hour=10), busy)


def test_nearest_free_slots_around_a_clash():
    busy = [(D.replace(hour=10), D.replace(hour=11))]
    slots = nearest_free_slots(D.replace(hour=10), timedelta(hours=1), busy, NINE, FIVE, not_before=D,
                               step=timedelta(minutes=30), count=2)
    assert slots == [D.replace(hour=9), D.replace(hour=11)]


def test_nearest_free_slots_never_in_the_past_and_within_hours():
    now = D.replace(hour=16, minute=10)
    slots = nearest_free_slots(now, timedelta(minutes=30), [], NINE, FIVE, not_before=now, count=3)
    assert slots[0] == D.replace(hour=16, minute=15)
    assert all(s >= now and NINE <= s.time() and (s + timedelta(minutes=30)).time() <= FIVE for s in slots)
    assert slots[-1].date() == D.date() + timedelta(days=1)


def test_within_hours():
    assert within_hours(D.replace(hour=16), timedelta(hours=1), NINE, FIVE)
    assert not within_hours(D.replace(hour=16, minute=30), timedelta(hours=1), NINE, FIVE)
    assert not within_hours(D.replace(hour=8), timedelta(minutes=30), NINE, FIVE)


CATALOGUE = {"Margherita Pizza": "PIZ-M", "Pepperoni Pizza": "PIZ-P", "Coca-Cola": "COKE", "Garlic Bread": "GB"}


def test_item_matching_exact_close_and_unsure():
    assert match_item("margherita pizza", CATALOGUE).item == "PIZ-M"
    assert match_item("Coca Cola", CATALOGUE).item == "COKE"
    assert match_item("Garlic Breads", CATALOGUE).item == "GB"
    unsure = match_item("pizza", CATALOGUE)
    assert unsure.item is None and unsure.suggestions == ["Margherita Pizza", "Pepperoni Pizza"]
    big = {**CATALOGUE, **{f"Widget {i}": f"W{i}" for i in range(200)}}
    assert match_item("pizza", big).suggestions == ["Margherita Pizza", "Pepperoni Pizza"]
    nothing = match_item("sushi platter", CATALOGUE)
    assert nothing.item is None and nothing.suggestions == []


def test_periods():
    from datetime import date
    today = date(2026, 11, 23)  # a Monday
    assert resolve_period("today", today) == (today, today)
    assert resolve_period("week", today) == (today, today)
    assert resolve_period("month", today) == (date(2026, 11, 1), today)
    assert resolve_period("quarter", today) == (date(2026, 10, 1), today)
    assert resolve_period("year", today) == (date(2026, 1, 1), today)
    assert resolve_period("custom", today, "2026-01-05", "2026-02-01") == (date(2026, 1, 5), date(2026, 2, 1))
    for bad in [("decade", None, None), ("custom", "2026-02-01", "2026-01-01"), ("custom", "x", "y")]:
        with pytest.raises(ValueError):
            resolve_period(bad[0], today, bad[1], bad[2])
