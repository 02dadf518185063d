"""The customer's language, and the language the bot replies in.

Detection is Google's Compact Language Detector 2 (``pycld2``): deterministic, about 80 languages, a
millisecond per call, no model to download (its tables are in the wheel), and, unlike detectors that
always name some language, it answers "unknown" for text too short to tell and says whether a
detection is reliable. Chat messages are short, so the rules on top of it are ours:

- The newest customer message decides when it is long enough; otherwise older customer messages are
  put before it until there is enough text (``MIN_LETTERS``). A "hi", "ok" or "merci" therefore never
  decides alone: it is read together with what the customer wrote before.
- Only a reliable detection with most of the text in one language counts; anything less keeps the
  previous language (``None`` when there was none: the caller then uses the profile's default).

Language codes are lower-case ISO 639-1 where one exists (``"de"``, ``"pt"``), with CLD2's legacy codes
mapped to current ones (``"iw"`` -> ``"he"``) and its script variants kept (``"zh-Hant"``). A profile's
allowed languages may carry a region (``"pt-BR"``); ``reply_language`` matches on the language part.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pycld2

# Letters of the customer's recent text needed before a detection may decide the language. Below it
# CLD2 is mostly unsure anyway, and where it is sure ("obrigado") one word is too little to switch on.
MIN_LETTERS = 16
# A CJK character carries about a word, so it counts as this many letters.
CJK_LETTER_WEIGHT = 3
# The share of the text (percent, CLD2's figure) the top language needs.
MIN_PERCENT = 70
# How far back the text for one detection reaches.
MAX_MESSAGES = 6
MAX_CHARS = 2000

_LEGACY_CODES = {"iw": "he", "jw": "jv", "in": "id", "ji": "yi", "mo": "ro"}
_CJK_RANGES = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF),
               (0x20000, 0x2FA1F))

LANGUAGE_NAMES: Mapping[str, str] = {
    "ar": "Arabic", "bg": "Bulgarian", "ca": "Catalan", "cs": "Czech", "da": "Danish", "de": "German",
    "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian", "fa": "Persian", "fi": "Finnish",
    "fr": "French", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian", "id": "Indonesian",
    "it": "Italian", "ja": "Japanese", "ko": "Korean", "lt": "Lithuanian", "lv": "Latvian", "ms": "Malay",
    "nl": "Dutch", "no": "Norwegian", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian",
    "sk": "Slovak", "sl": "Slovenian", "sr": "Serbian", "sv": "Swedish", "th": "Thai", "tr": "Turkish",
    "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese", "zh": "Chinese",
}


@dataclass(frozen=True)
class Detection:
    """What CLD2 made of one text: ``language`` is ``None`` when it could not tell."""

    language: str | None
    reliable: bool
    percent: int
    letters: int

    @property
    def decisive(self) -> bool:
        return (self.language is not None and self.reliable and self.percent >= MIN_PERCENT
                and self.letters >= MIN_LETTERS)


def normalise_code(code: str | None) -> str | None:
    """A language code in the form this module returns: ``"DE"`` -> ``"de"``, ``"iw"`` -> ``"he"``,
    ``"zh-hant"`` -> ``"zh-Hant"``, ``"pt_br"`` -> ``"pt-BR"``; ``None`` for empty or unknown codes."""
    if not code or not code.strip():
        return None
    parts = code.strip().replace("_", "-").split("-")
    primary = parts[0].lower()
    if primary in ("un", "xx", "und", "zxx"):
        return None
    primary = _LEGACY_CODES.get(primary, primary)
    rest = [p.title() if len(p) == 4 else p.upper() for p in parts[1:] if p]
    return "-".join([primary, *rest])


def primary_subtag(code: str) -> str:
    return code.split("-", 1)[0].lower()


def letter_count(text: str) -> int:
    return sum(CJK_LETTER_WEIGHT if _is_cjk(ch) else 1 for ch in text if ch.isalpha())


def detect(text: str) -> Detection:
    """The language of one text. Never raises: text CLD2 cannot take comes back as unknown."""
    clean = _plain(text)[:MAX_CHARS]
    letters = letter_count(clean)
    if not letters:
        return Detection(None, False, 0, 0)
    try:
        reliable, _, details = pycld2.detect(clean, isPlainText=True)
    except pycld2.error:
        return Detection(None, False, 0, letters)
    _, code, percent, _ = details[0]
    return Detection(normalise_code(code), bool(reliable), int(percent), letters)


def customer_language(customer_texts: Sequence[str], previous: str | None) -> str | None:
    """The language of the customer's recent messages (oldest first), or ``previous`` when they do not
    say clearly. The newest message alone decides when it has ``MIN_LETTERS``; shorter ones are read
    with the messages before them, so a short "ok" or "thanks" keeps the conversation's language while
    "Can you answer in English, please?" switches it."""
    recent = [t for t in customer_texts if t and t.strip()][-MAX_MESSAGES:]
    chosen: list[str] = []
    for text in reversed(recent):
        chosen.insert(0, text)
        if letter_count(" ".join(chosen)) >= MIN_LETTERS:
            break
    detection = detect("\n".join(chosen))
    return detection.language if detection.decisive else normalise_code(previous)


def reply_language(detected: str | None, allowed: Sequence[str], default: str) -> str:
    """The language to reply in. Without restrictions (``allowed`` empty): the detected language, else
    ``default``. With them: the allowed entry of the detected language (same code, else same language
    part: detected ``"pt"`` picks allowed ``"pt-BR"``), else the allowed entry of ``default``. A default
    that is not allowed (``de`` and ``fr`` allowed, default ``en``) is a profile error: ``ValueError``,
    so the profile's validation can call this to check its settings."""
    if not default or not default.strip():
        raise ValueError("The default language is empty.")
    if not allowed:
        return detected or default
    default_entry = _allowed_entry(default, allowed)
    if default_entry is None:
        raise ValueError(f"The default language {default!r} is not among the allowed languages "
                         f"{', '.join(allowed)}.")
    return (_allowed_entry(detected, allowed) if detected else None) or default_entry


def language_name(code: str) -> str:
    """An English name the model understands ("German"), or the code itself for rarer languages."""
    return LANGUAGE_NAMES.get(primary_subtag(code), code)


def localized(texts: Mapping[str, str], language: str | None) -> str:
    """The text of a table keyed by language code, for ``language`` or its language part, else English."""
    if language:
        if language in texts:
            return texts[language]
        primary = primary_subtag(language)
        if primary in texts:
            return texts[primary]
    return texts["en"]


def _allowed_entry(code: str, allowed: Sequence[str]) -> str | None:
    """The entry of ``allowed`` with this very code, else the first of the same language."""
    exact = next((a for a in allowed if a.lower() == code.lower()), None)
    return exact or next((a for a in allowed if primary_subtag(a) == primary_subtag(code)), None)


def _is_cjk(ch: str) -> bool:
    point = ord(ch)
    return any(low <= point <= high for low, high in _CJK_RANGES)


def _plain(text: str) -> str:
    # CLD2 refuses control characters, surrogates and noncharacters as "invalid UTF-8" and would
    # reject the whole text: blank them out instead.
    return "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else " " for ch in text)
