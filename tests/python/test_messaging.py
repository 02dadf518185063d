import itertools
from datetime import datetime, timedelta, timezone

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voice_agent.messaging.parties import PartyCandidate, choose_party, match_order
from voice_agent.messaging.phones import (
    InvalidPhoneNumber,
    from_wa_id,
    matching_variants,
    same_number,
    to_e164,
    to_wa_id,
    whatsapp_equivalents,
)
from voice_agent.messaging.statuses import KNOWN_STATUSES, apply_status, rank, record_time
from voice_agent.messaging.window import (
    CUSTOMER_SERVICE_WINDOW,
    WindowClosed,
    check_can_send,
    is_open,
    remaining,
    requires_open_window,
    window_end,
)

# --- phones: E.164 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+44 7911 123456", None, "+447911123456"),
        ("07911 123456", "GB", "+447911123456"),
        ("0044 7911 123456", None, "+447911123456"),
        ("+44-7911123456", None, "+447911123456"),  # Frappe's Phone field
        ("447911123456", None, "+447911123456"),  # a wa_id typed into a form
        ("447911123456", "US", "+447911123456"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("1 415 555 2671", "US", "+14155552671"),
        ("+1 415-555-2671", None, "+14155552671"),
        ("tel:+1-415-555-2671", None, "+14155552671"),
        ("14155552671", "GB", "+14155552671"),
        ("98765 43210", "IN", "+919876543210"),
        ("+91-9876543210", None, "+919876543210"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("+49 30 123456", None, "+4930123456"),
        ("+55 31 99688-3193", None, "+5531996883193"),
        ("+52 55 1234 5678", None, "+525512345678"),
        ("050 123 4567", "AE", "+971501234567"),
        ("090-1234-5678", "jp", "+819012345678"),
        ("+234 802 123 4567", None, "+2348021234567"),
        ("  +27 82 123 4567  ", None, "+27821234567"),
    ],
)
def test_numbers_of_several_countries_normalise_to_e164(raw, region, expected):
    assert to_e164(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region", "message"),
    [
        ("", None, "empty"),
        ("   ", None, "empty"),
        (None, None, "empty"),
        (447911123456, None, "empty"),
        ("x" * 65, None, "longer than 64"),
        ("hello", None, "not a phone number"),
        ("call me maybe", "GB", "not a phone number"),
        ("+", None, "not a phone number"),
        ("00", None, "'00' is not a usable phone number"),
        ("+999 123 4567", None, "country code is missing or unknown$"),
        ("07911 123456", None, "set a default country"),
        ("+44 20 1234", None, "not a valid phone number for GB"),
        ("+1 555 0100", None, "not a valid phone number for US"),
        ("+44 7911 123456 789 0123", None, "not a"),
    ],
)
def test_garbage_is_refused_with_a_clear_message(raw, region, message):
    with pytest.raises(InvalidPhoneNumber, match=message):
        to_e164(raw, region)


def test_an_unknown_default_region_is_a_configuration_error():
    with pytest.raises(ValueError, match="'XX' is not a two-letter country code"):
        to_e164("07911 123456", "XX")


@settings(max_examples=300, deadline=None)
@given(
    region=st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)),
    kind=st.sampled_from(["MOBILE", "FIXED_LINE"]),
)
def test_national_international_and_e164_forms_of_any_country_agree(region, kind):
    example = phonenumbers.example_number_for_type(region, getattr(phonenumbers.PhoneNumberType, kind))
    if example is None:
        return
    e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    assert to_e164(national, region) == e164
    assert to_e164(international) == e164
    assert to_e164(e164) == e164
    assert from_wa_id(to_wa_id(e164)) == e164


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=70), st.sampled_from([None, "GB", "US", "IN", "BR"]))
def test_to_e164_returns_e164_or_raises_invalid_phone_number(raw, region):
    try:
        result = to_e164(raw, region)
    except InvalidPhoneNumber as exc:
        assert str(exc)
        return
    assert result.startswith("+") and result[1:].isascii() and result[1:].isdigit() and len(result) <= 16
    assert to_e164(result) == result


# --- phones: WhatsApp ids ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wa_id", "expected"),
    [
        ("447911123456", "+447911123456"),
        ("14155552671", "+14155552671"),
        # Ids libphonenumber calls invalid but WhatsApp uses: an old Mexican mobile, a Brazilian one
        # registered before the ninth digit.
        ("5215512345678", "+5215512345678"),
        ("553196883193", "+553196883193"),
    ],
)
def test_wa_ids_become_e164(wa_id, expected):
    assert from_wa_id(wa_id) == expected
    assert to_wa_id(expected) == wa_id


@pytest.mark.parametrize(
    "wa_id",
    ["", "+447911123456", "44 7911 123456", "447911", "1" * 16, "0447911123456", "٤٤٧٩١١١٢٣٤٥٦", None],
)
def test_what_is_not_a_wa_id_is_refused(wa_id):
    with pytest.raises(InvalidPhoneNumber, match="is not a WhatsApp id"):
        from_wa_id(wa_id)


@pytest.mark.parametrize("e164", ["447911123456", "+44 7911 123456", "", None])
def test_to_wa_id_needs_e164(e164):
    with pytest.raises(InvalidPhoneNumber, match="is not an E.164 number"):
        to_wa_id(e164)


@pytest.mark.parametrize(
    ("e164", "equivalents"),
    [
        ("+5531996883193", ("+553196883193",)),  # Brazilian mobile with and without its ninth digit
        ("+553196883193", ("+5531996883193",)),
        ("+551133334444", ()),  # Brazilian landline: no ninth digit
        ("+5215512345678", ("+525512345678",)),  # Mexican mobile with and without the old "1"
        ("+525512345678", ("+5215512345678",)),
        ("+447911123456", ()),
        ("+14155552671", ()),
    ],
)
def test_whatsapp_equivalents(e164, equivalents):
    assert whatsapp_equivalents(e164) == equivalents


# --- phones: lookup forms ------------------------------------------------------------------------


def test_matching_variants_of_a_uk_mobile():
    assert matching_variants("+447911123456") == (
        "+447911123456",
        "447911123456",
        "00447911123456",
        "+44-7911123456",
        "+44-07911123456",
        "+44 7911123456",
        "+44 7911 123456",
        "07911 123456",
        "07911123456",
        "7911123456",
    )


def test_matching_variants_of_a_us_number_include_the_national_format():
    variants = matching_variants("+14155552671")
    assert variants[0] == "+14155552671"
    for form in (
        "14155552671",
        "+1-4155552671",
        "+1 415-555-2671",
        "+1 415 555 2671",
        "(415) 555-2671",
        "4155552671",
    ):
        assert form in variants


def test_a_brazilian_wa_id_without_the_ninth_digit_finds_the_number_stored_with_it():
    variants = matching_variants(from_wa_id("553196883193"))
    assert "+55 31 99688-3193" in variants and "(31) 99688-3193" in variants and "+5531996883193" in variants


def test_matching_variants_needs_e164():
    with pytest.raises(InvalidPhoneNumber, match="must start with"):
        matching_variants("07911 123456")


def test_every_lookup_form_of_every_example_number_is_the_same_number():
    checked, wrong = 0, []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            variants = matching_variants(e164)
            assert len(variants) == len(set(variants))
            for variant in variants:
                # International forms are read without a country; national ones in the number's country.
                international = variant.startswith(("+", "00")) or variant == e164[1:]
                checked += 1
                if not same_number(variant, e164, None if international else region):
                    wrong.append((region, variant, e164))
    assert checked > 3000 and wrong == []


@pytest.mark.parametrize(
    ("a", "b", "region", "same"),
    [
        ("+44 7911 123456", "07911 123456", "GB", True),
        ("+44-7911123456", "447911123456", None, True),
        ("+44 7911 123456", "+44 7911 123457", None, False),
        ("+5531996883193", "553196883193", None, True),
        ("+525512345678", "5215512345678", None, True),
        ("+14155552671", "+4415552671", None, False),
        ("garbage", "garbage", None, False),
        ("", "+447911123456", None, False),
    ],
)
def test_same_number(a, b, region, same):
    assert same_number(a, b, region) is same
    assert same_number(b, a, region) is same


# --- window --------------------------------------------------------------------------------------

LAST = datetime(2026, 3, 2, 14, 30, tzinfo=timezone.utc)


def test_window_closes_24_hours_after_the_last_inbound_message():
    assert window_end(LAST) == LAST + timedelta(hours=24)
    assert window_end(None) is None


@pytest.mark.parametrize(
    ("after", "open_"),
    [
        (timedelta(0), True),
        (timedelta(hours=23, minutes=59, seconds=59), True),
        (timedelta(hours=24), False),
        (timedelta(hours=25), False),
        (timedelta(days=30), False),
        (-timedelta(minutes=5), True),  # clocks that disagree a little: still open
    ],
)
def test_is_open_until_the_24th_hour(after, open_):
    assert is_open(LAST, LAST + after) is open_


def test_never_opened_window_is_closed():
    assert not is_open(None, LAST)
    assert remaining(None, LAST) == timedelta(0)


def test_remaining_time():
    assert remaining(LAST, LAST + timedelta(hours=1)) == timedelta(hours=23)
    assert remaining(LAST, LAST + timedelta(hours=30)) == timedelta(0)


def test_window_works_across_time_zones():
    india = timezone(timedelta(hours=5, minutes=30))
    assert is_open(LAST.astimezone(india), LAST + timedelta(hours=23))
    assert not is_open(LAST.astimezone(india), (LAST + timedelta(hours=24)).astimezone(india))


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(LAST.replace(tzinfo=None), LAST)
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        remaining(LAST, LAST.replace(tzinfo=None))


def test_only_templates_may_be_sent_outside_the_window():
    assert not requires_open_window("template")
    for kind in ("text", "image", "document", "interactive", "reaction", "location", "contacts", "audio"):
        assert requires_open_window(kind)


def test_templates_can_always_be_sent():
    check_can_send("template", None, LAST)
    check_can_send("template", LAST, LAST + timedelta(days=90))


def test_free_form_messages_inside_the_window_are_allowed():
    check_can_send("text", LAST, LAST + timedelta(hours=23))


def test_free_form_message_after_the_window_is_refused_with_the_reason():
    with pytest.raises(WindowClosed, match="last wrote 30 hours ago.*Send an approved template") as caught:
        check_can_send("text", LAST, LAST + timedelta(hours=30, minutes=20))
    assert caught.value.closed_at == LAST + CUSTOMER_SERVICE_WINDOW
    assert caught.value.last_inbound_at == LAST


def test_free_form_message_to_someone_who_never_wrote_is_refused():
    with pytest.raises(WindowClosed, match="has not written to this WhatsApp number yet") as caught:
        check_can_send("image", None, LAST)
    assert caught.value.closed_at is None


@settings(max_examples=500, deadline=None)
@given(
    last=st.none()
    | st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc)
    ),
    offset=st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=3)),
    kind=st.sampled_from(["template", "text", "image", "interactive"]),
)
def test_window_rules_agree_with_each_other(last, offset, kind):
    now = (last or LAST) + offset
    opened = is_open(last, now)
    assert opened == (remaining(last, now) > timedelta(0))
    try:
        check_can_send(kind, last, now)
        refused = False
    except WindowClosed:
        refused = True
    assert refused == (kind != "template" and not opened)


# --- statuses ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "incoming", "expected"),
    [
        (None, "sent", "sent"),
        ("", "sent", "sent"),
        ("queued", "sent", "sent"),
        ("sent", "delivered", "delivered"),
        ("delivered", "read", "read"),
        ("read", "played", "played"),
        ("delivered", "sent", "delivered"),  # a late "sent" after "delivered" is ignored
        ("read", "delivered", "read"),  # read never goes back
        ("read", "sent", "read"),
        ("played", "read", "played"),
        ("queued", "failed", "failed"),  # failed wins over queued and sent…
        ("accepted", "failed", "failed"),
        ("sent", "failed", "failed"),
        ("delivered", "failed", "delivered"),  # …but not over a delivery that happened
        ("read", "failed", "read"),
        ("failed", "sent", "failed"),
        ("failed", "delivered", "delivered"),  # proof of delivery beats the failure report
        ("failed", "read", "read"),
        ("read", "deleted", "read"),  # unknown statuses never move a known one
        ("sent", "warning", "sent"),
        (None, "deleted", "deleted"),  # …but are kept when there is nothing known
        ("deleted", "warning", "warning"),
        ("deleted", "sent", "sent"),
        ("SENT", "Delivered", "delivered"),
        (" read ", "sent", "read"),
        ("sent", "READ", "read"),
    ],
)
def test_apply_status(current, incoming, expected):
    assert apply_status(current, incoming) == expected


status_names = st.sampled_from([*KNOWN_STATUSES, "deleted", "warning", "Read", "SENT"])


@settings(max_examples=1000, deadline=None)
@given(st.lists(status_names, min_size=1, max_size=12))
def test_no_sequence_ends_behind_the_furthest_status_received(sequence):
    final = None
    for status in sequence:
        final = apply_status(final, status)
    known = [rank(s) for s in sequence if rank(s) is not None]
    if known:
        assert rank(final) == max(known)
    else:
        assert final == sequence[-1]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(["sent", "delivered", "read", "played", "failed"]), min_size=1, max_size=8),
    st.randoms(),
)
def test_the_final_status_does_not_depend_on_arrival_order(sequence, rnd):
    shuffled = list(sequence)
    rnd.shuffle(shuffled)
    final_in_order, final_shuffled = None, None
    for status in sequence:
        final_in_order = apply_status(final_in_order, status)
    for status in shuffled:
        final_shuffled = apply_status(final_shuffled, status)
    assert final_in_order == final_shuffled


def test_record_time_keeps_the_earliest_report_of_each_status():
    t = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)
    times = record_time({}, "sent", t)
    times = record_time(times, "delivered", t + timedelta(seconds=3))
    times = record_time(times, "SENT", t + timedelta(minutes=5))  # a retry of "sent"
    times = record_time(times, "read", t + timedelta(minutes=1))
    times = record_time(times, "deleted", t + timedelta(minutes=2))
    assert times == {
        "sent": t,
        "delivered": t + timedelta(seconds=3),
        "read": t + timedelta(minutes=1),
        "deleted": t + timedelta(minutes=2),
    }
    earlier = record_time(times, "read", t + timedelta(seconds=30))
    assert earlier["read"] == t + timedelta(seconds=30) and times["read"] == t + timedelta(minutes=1)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(status_names, st.integers(0, 10_000)), max_size=10),
    st.randoms(),
)
def test_record_time_does_not_depend_on_arrival_order(reports, rnd):
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)
    shuffled = list(reports)
    rnd.shuffle(shuffled)
    first, second = {}, {}
    for status, seconds in reports:
        first = record_time(first, status, base + timedelta(seconds=seconds))
    for status, seconds in shuffled:
        second = record_time(second, status, base + timedelta(seconds=seconds))
    assert first == second


# --- parties -------------------------------------------------------------------------------------

NOON = datetime(2026, 3, 2, 12, 0)


def cand(doctype: str, name: str, hours_ago: float = 0) -> PartyCandidate:
    return PartyCandidate(doctype=doctype, name=name, modified=NOON - timedelta(hours=hours_ago))


def test_match_order():
    assert match_order(crm_installed=False) == ("Contact", "Lead", "Customer")
    assert match_order(crm_installed=True) == ("Contact", "Lead", "Customer", "CRM Lead", "CRM Deal")


def test_a_contact_wins_over_a_lead_and_a_customer_even_when_older():
    lead, contact, customer = (
        cand("Lead", "CRM-LEAD-0001"),
        cand("Contact", "Amelia Hart", 500),
        cand("Customer", "Hart Ltd"),
    )
    match = choose_party([lead, customer, contact], crm_installed=False)
    assert match.chosen == contact
    assert match.others == (lead, customer)
    assert match.ambiguous


def test_two_leads_sharing_a_number_pick_the_most_recently_modified_and_offer_the_other():
    older, newer = cand("Lead", "CRM-LEAD-0001", 48), cand("Lead", "CRM-LEAD-0002", 1)
    match = choose_party([older, newer], crm_installed=False)
    assert match.chosen == newer and match.others == (older,)


def test_a_single_match_is_not_ambiguous():
    match = choose_party([cand("Lead", "L1")], crm_installed=False)
    assert match.chosen.name == "L1" and not match.ambiguous


def test_no_match():
    match = choose_party([], crm_installed=True)
    assert match.chosen is None and match.others == () and not match.ambiguous


def test_a_record_found_through_several_number_forms_counts_once():
    match = choose_party(
        [cand("Contact", "C1", 5), cand("Contact", "C1", 1), cand("Contact", "C1", 3)], crm_installed=False
    )
    assert match.chosen == cand("Contact", "C1", 1) and match.others == ()


def test_crm_records_come_after_erpnext_ones_lead_before_deal():
    deal, crm_lead, customer = (
        cand("CRM Deal", "CRM-DEAL-1"),
        cand("CRM Lead", "CRM-LEAD-1"),
        cand("Customer", "C", 99),
    )
    match = choose_party([deal, crm_lead, customer], crm_installed=True)
    assert match.chosen == customer and match.others == (crm_lead, deal)
    assert choose_party([deal, crm_lead], crm_installed=True).chosen == crm_lead


def test_crm_candidates_without_frappe_crm_are_a_caller_bug():
    with pytest.raises(ValueError, match="'CRM Lead' is not a party doctype here"):
        choose_party([cand("CRM Lead", "X")], crm_installed=False)


def test_a_link_chosen_by_a_user_wins_while_it_still_matches():
    contact, lead = cand("Contact", "C1"), cand("Lead", "L1")
    assert choose_party([contact, lead], crm_installed=False, preferred=("Lead", "L1")).chosen == lead
    assert choose_party([contact, lead], crm_installed=False, preferred=("Lead", "L1")).others == (contact,)
    assert choose_party([contact, lead], crm_installed=False, preferred=("Lead", "L9")).chosen == contact


def test_equal_modification_times_are_broken_by_name():
    match = choose_party([cand("Lead", "B"), cand("Lead", "A")], crm_installed=False)
    assert match.chosen.name == "A"


candidates = st.lists(
    st.builds(
        PartyCandidate,
        doctype=st.sampled_from(match_order(crm_installed=True)),
        name=st.sampled_from(["A", "B", "C"]),
        modified=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(candidates, st.randoms())
def test_the_choice_follows_the_order_and_does_not_depend_on_the_query_order(found, rnd):
    shuffled = list(found)
    rnd.shuffle(shuffled)
    match = choose_party(found, crm_installed=True)
    assert choose_party(shuffled, crm_installed=True) == match
    records = {(c.doctype, c.name) for c in found}
    returned = [match.chosen, *match.others] if match.chosen else []
    assert {(c.doctype, c.name) for c in returned} == records and len(returned) == len(records)
    order = match_order(crm_installed=True)
    for first, second in itertools.pairwise(returned):
        assert (order.index(first.doctype), -first.modified.timestamp()) <= (
            order.index(second.doctype),
            -second.modified.timestamp(),
        )
