"""Phone numbers: E.164 normalisation, WhatsApp ids, and the stored forms to look a number up by.

WhatsApp identifies a user by `wa_id`: the E.164 number without its "+". ERPNext and Frappe CRM keep
numbers as people typed them ("+44 7911 123456", "07911 123456", Frappe's Phone field "+44-7911123456"),
so a lookup tries every usual form (`matching_variants`) and comparisons go through E.164 (`same_number`).
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat

MAX_INPUT_LENGTH = 64
E164_MAX_DIGITS = 15
_WA_ID = re.compile(r"[0-9]{7,15}")  # the shortest numbers in use (e.g. +290 2xxx) have 7 digits
_DIALLABLE = re.compile(r"[\d\s().\-/]+")
_NON_DIGITS = re.compile(r"\D")

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "its country code is missing or unknown",
    NumberParseException.NOT_A_NUMBER: "it is not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "it is too short",
    NumberParseException.TOO_SHORT_NSN: "it is too short",
    NumberParseException.TOO_LONG: "it is too long",
}


class InvalidPhoneNumber(ValueError):
    """The text cannot be read as a phone number; the message says why, for the user who typed it."""


def _check_region(default_region: str | None) -> str | None:
    if default_region is None:
        return None
    region = default_region.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{default_region!r} is not a two-letter country code phone numbers are known for")
    return region


def _parse(raw: str, region: str | None, shown: str | None = None) -> PhoneNumber:
    try:
        return phonenumbers.parse(raw, region)
    except NumberParseException as exc:
        raw = shown if shown is not None else raw
        reason = _PARSE_REASONS.get(exc.error_type, "it cannot be read")
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE and not raw.lstrip().startswith("+"):
            reason += ": write it with + and the country code, or set a default country"
        raise InvalidPhoneNumber(f"{raw!r} is not a usable phone number: {reason}") from exc


def _candidates(raw: object, region: str | None) -> list[PhoneNumber]:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidPhoneNumber("the phone number is empty")
    if len(raw) > MAX_INPUT_LENGTH:
        raise InvalidPhoneNumber(f"the phone number is longer than {MAX_INPUT_LENGTH} characters")
    text = raw.strip()
    # Without "+", digits are read in the default country first; failing that (or with no default
    # country) as an international number written without its "+", as WhatsApp ids and many CRMs store them.
    if text.startswith("00") and _DIALLABLE.fullmatch(text):
        international: str | None = "+" + text[2:]
    elif _DIALLABLE.fullmatch(text) and not text.startswith("0"):
        international = "+" + text
    else:
        international = None
    attempts: list[tuple[str, str | None]] = []
    if region is not None and not text.startswith("+") and not text.lower().startswith("tel:"):
        attempts.append((text, region))
    if international is not None:
        attempts.append((international, None))
    if not attempts:
        attempts.append((text, region))
    parsed: list[PhoneNumber] = []
    first_error: InvalidPhoneNumber | None = None
    for candidate, candidate_region in attempts:
        try:
            parsed.append(_parse(candidate, candidate_region, shown=text))
        except InvalidPhoneNumber as exc:
            first_error = first_error or exc
    if parsed:
        return parsed
    raise first_error or InvalidPhoneNumber(f"{raw!r} is not a usable phone number")


def to_e164(raw: str, default_region: str | None = None) -> str:
    """`raw` as E.164 ("+4420…"); `default_region` (ISO code, e.g. "GB") reads numbers written nationally."""
    region = _check_region(default_region)
    candidates = _candidates(raw, region)
    for number in candidates:
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    number = candidates[0]
    where = phonenumbers.region_code_for_number(number) or phonenumbers.region_code_for_country_code(
        number.country_code
    )
    suffix = f" for {where}" if where and where != phonenumbers.UNKNOWN_REGION else ""
    raise InvalidPhoneNumber(f"{raw!r} is not a valid phone number{suffix}")


def from_wa_id(wa_id: str) -> str:
    """E.164 of a WhatsApp id (digits, no "+").

    Meta has already checked the number, and its ids include forms libphonenumber calls invalid (old
    Mexican "521…" mobiles, Brazilian mobiles without their ninth digit), so only the shape is checked.
    """
    if not isinstance(wa_id, str) or not _WA_ID.fullmatch(wa_id):
        raise InvalidPhoneNumber(f"{str(wa_id)[:40]!r} is not a WhatsApp id (7 to 15 digits, no '+')")
    try:
        _parse("+" + wa_id, None)
    except InvalidPhoneNumber as exc:
        raise InvalidPhoneNumber(
            f"{wa_id!r} is not a WhatsApp id: it starts with no known country code"
        ) from exc
    return "+" + wa_id


def to_wa_id(e164: str) -> str:
    """The WhatsApp id form of an E.164 number: its digits without "+"."""
    if not isinstance(e164, str) or not e164.startswith("+") or not _WA_ID.fullmatch(e164[1:]):
        raise InvalidPhoneNumber(f"{str(e164)[:40]!r} is not an E.164 number")
    return e164[1:]


def whatsapp_equivalents(e164: str) -> tuple[str, ...]:
    """Other E.164 forms under which WhatsApp may know the same line (not including `e164` itself).

    Brazil added a ninth digit to mobile numbers, and accounts registered before it can keep an id without
    it; Mexican mobiles were dialled with a "1" after +52 until 2019 and older ids keep it.
    """
    digits = to_wa_id(e164)
    if digits.startswith("55"):
        national = digits[2:]
        if len(national) == 11 and national[2] == "9":
            return ("+55" + national[:2] + national[3:],)
        if len(national) == 10 and national[2] in "6789":
            return ("+55" + national[:2] + "9" + national[2:],)
    if digits.startswith("52"):
        national = digits[2:]
        if len(national) == 11 and national.startswith("1"):
            return ("+52" + national[1:],)
        if len(national) == 10:
            return ("+521" + national,)
    return ()


def _stored_forms(e164: str) -> list[str]:
    number = _parse(e164, None)
    digits = e164[1:]
    code = number.country_code
    significant = phonenumbers.national_significant_number(number)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    national_digits = _NON_DIGITS.sub("", national)
    return [
        e164,
        digits,
        "00" + digits,
        f"+{code}-{significant}",  # what Frappe's Phone field stores: "<ISD>-<number>"
        f"+{code}-{national_digits}",
        f"+{code} {significant}",
        international,
        international.replace("-", " "),
        national,
        national_digits,
        significant,
    ]


def matching_variants(e164: str) -> tuple[str, ...]:
    """The forms a number is commonly stored in (ERPNext, Frappe CRM, imports), to look parties up by.

    Includes the forms of the number's WhatsApp equivalents, so a wa_id without Brazil's ninth digit still
    finds the Contact saved with it.
    """
    if not isinstance(e164, str) or not e164.startswith("+"):
        raise InvalidPhoneNumber(f"{str(e164)[:40]!r} is not an E.164 number (it must start with '+')")
    variants: dict[str, None] = {}
    for form in (e164, *whatsapp_equivalents(e164)):
        for variant in _stored_forms(form):
            if variant:
                variants.setdefault(variant, None)
    return tuple(variants)


def _lenient_e164(raw: str, region: str | None) -> str:
    """E.164 of the first valid reading, else of the first reading: WhatsApp ids need not be "valid"."""
    candidates = _candidates(raw, region)
    chosen = next((number for number in candidates if phonenumbers.is_valid_number(number)), candidates[0])
    return phonenumbers.format_number(chosen, PhoneNumberFormat.E164)


def same_number(a: str, b: str, default_region: str | None = None) -> bool:
    """True when `a` and `b` reach the same line (E.164 equal, or WhatsApp equivalents); False if unreadable."""
    region = _check_region(default_region)
    try:
        first, second = _lenient_e164(a, region), _lenient_e164(b, region)
        return first == second or second in whatsapp_equivalents(first)
    except InvalidPhoneNumber:
        return False
