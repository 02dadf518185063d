"""The customer's language: sentences in many languages, short texts that must not flip the language,
a real switch that must, text the detector cannot take, and the reply language a profile allows."""

from __future__ import annotations

import pycld2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voice_agent.bot import language as language_module
from voice_agent.bot.language import (
    MIN_LETTERS,
    MIN_PERCENT,
    customer_language,
    detect,
    language_name,
    letter_count,
    localized,
    normalise_code,
    reply_language,
)

GERMAN = "Guten Tag, ich hätte gern einen Termin für morgen"
ENGLISH = "Hello, I'd like to book a haircut tomorrow at 10"


@pytest.mark.parametrize(("text", "language"), [
    ("I'd like to book a haircut tomorrow at 10", "en"),
    ("Kann ich mit einem Mitarbeiter sprechen?", "de"),
    ("Bonjour, je voudrais commander une pizza", "fr"),
    ("Hola, quiero reservar una mesa para dos", "es"),
    ("Ciao, vorrei prenotare un tavolo per stasera", "it"),
    ("Olá, queria marcar uma consulta para amanhã", "pt"),
    ("Hallo, ik wil graag een afspraak maken", "nl"),
    ("Merhaba, yarın için randevu almak istiyorum", "tr"),
    ("Dzień dobry, chciałbym zarezerwować stolik", "pl"),
    ("Добрый день, можно записаться на завтра?", "ru"),
    ("مرحبا، أريد حجز موعد غدا من فضلك", "ar"),
    ("שלום, אני רוצה לקבוע תור למחר", "he"),
    ("你好，我想预约明天上午十点理发", "zh"),
    ("こんにちは、明日の予約をしたいです", "ja"),
])
def test_a_sentence_names_its_language(text, language):
    assert customer_language([text], None) == language
    detection = detect(text)
    assert (detection.language, detection.reliable, detection.decisive) == (language, True, True)


@pytest.mark.parametrize("short", ["hi", "ok", "Hallo", "danke", "merci", "gracias", "grazie", "obrigado",
                                   "bedankt", "ja", "si", "oui", "👍", "10:30", "ok!!", "Danke schön"])
def test_a_short_text_never_flips_the_language(short):
    assert customer_language([short], "de") == "de"
    assert customer_language([short], "fr") == "fr"
    assert customer_language([short], None) is None


def test_a_short_message_is_read_with_the_ones_before_it():
    assert customer_language([GERMAN, "ok"], None) == "de"
    assert customer_language([GERMAN, "thanks"], "de") == "de"
    assert customer_language([ENGLISH, "merci"], "en") == "en"


def test_a_long_enough_message_in_another_language_switches():
    assert customer_language([GERMAN, "Can you answer in English, please?"], "de") == "en"
    assert customer_language([ENGLISH, "Pouvez-vous me répondre en français ?"], "en") == "fr"


def test_short_messages_in_a_new_language_switch_together():
    assert customer_language([ENGLISH, "Hallo zusammen", "vielen Dank"], "en") == "de"


def fake_cld2(reliable, percent):
    def detect(text, isPlainText):
        assert isPlainText is True
        return reliable, len(text), (("GERMAN", "de", percent, 900.0), ("Unknown", "un", 0, 0.0))
    return detect


@pytest.mark.parametrize(("reliable", "percent", "language"), [
    (True, MIN_PERCENT, "de"),
    (False, 97, "fr"),  # CLD2 is not sure: keep the previous language
    (True, MIN_PERCENT - 1, "fr"),  # mixed text: no language has most of it
])
def test_only_a_reliable_detection_of_most_of_the_text_decides(monkeypatch, reliable, percent, language):
    monkeypatch.setattr(language_module.pycld2, "detect", fake_cld2(reliable, percent))
    assert customer_language([ENGLISH], "fr") == language


def test_a_detector_error_is_an_unknown_language(monkeypatch):
    def refuse(text, isPlainText):
        raise pycld2.error("input contains invalid UTF-8 around byte 2")
    monkeypatch.setattr(language_module.pycld2, "detect", refuse)
    assert detect(ENGLISH).language is None
    assert customer_language([ENGLISH], "it") == "it"


def test_the_newest_message_decides_alone_when_it_is_long_enough():
    assert letter_count("Can you answer in English, please?") >= MIN_LETTERS
    history = [GERMAN] * 5
    assert customer_language([*history, "Can you answer in English, please?"], "de") == "en"


def test_no_text_keeps_the_previous_language():
    assert customer_language([], "it") == "it"
    assert customer_language(["", "   "], "it") == "it"
    assert customer_language([], None) is None


def test_the_previous_language_comes_back_normalised():
    assert customer_language(["ok"], "DE") == "de"
    assert customer_language(["ok"], "pt_br") == "pt-BR"


def test_cjk_characters_count_as_words():
    assert letter_count("你好") == 6
    assert letter_count("abc 12!") == 3
    assert customer_language(["你好，我想预约"], None) == "zh"


@pytest.mark.parametrize("text", [
    "ok\x00\x01 control characters in the middle of an English sentence",
    "lone \ud800 surrogate inside a perfectly normal English sentence",
    "a noncharacter \ufffe inside a perfectly normal English sentence",
])
def test_text_the_detector_refuses_is_cleaned_not_fatal(text):
    assert detect(text).language == "en"


@pytest.mark.parametrize("text", ["", "   ", "12345 !!!", "😀😀😀", "x" * 5000])
def test_text_without_a_language_is_unknown(text):
    detection = detect(text)
    assert detection.language is None and not detection.decisive


def test_markup_is_read_as_plain_text():
    assert detect("<b>Hallo</b>, ich hätte gern einen Termin <3 für morgen").language == "de"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=80), max_size=8), st.sampled_from([None, "de", "en"]))
def test_any_text_gives_a_language_code_or_keeps_the_previous_one(texts, previous):
    result = customer_language(texts, previous)
    assert result is None or (isinstance(result, str) and result == normalise_code(result))


@pytest.mark.parametrize(("code", "normal"), [
    ("DE", "de"), ("iw", "he"), ("jw", "jv"), ("in", "id"), ("zh-hant", "zh-Hant"), ("pt_br", "pt-BR"),
    ("en-gb", "en-GB"), ("un", None), ("xx-Qaai", None), ("", None), (None, None), ("  ", None),
])
def test_language_codes_are_normalised(code, normal):
    assert normalise_code(code) == normal


# --- the reply language ----------------------------------------------------------------------------


@pytest.mark.parametrize(("detected", "allowed", "default", "reply"), [
    ("fr", [], "en", "fr"),  # no restriction: the customer's language
    (None, [], "en", "en"),  # unknown: the default
    ("de", ["de", "en"], "en", "de"),
    ("fr", ["de", "en"], "en", "en"),  # not allowed: the default
    (None, ["de", "en"], "de", "de"),
    ("pt", ["pt-BR", "en"], "en", "pt-BR"),  # same language, the profile's spelling
    ("zh-Hant", ["zh-TW", "en"], "en", "zh-TW"),
    ("en", ["EN", "de"], "de", "EN"),
    ("fr", ["en-GB", "de"], "en", "en-GB"),  # the default's own entry
    ("pt-BR", ["pt-PT", "pt-BR"], "pt-PT", "pt-BR"),  # the exact entry before another of the language
])
def test_the_reply_language_respects_the_profile(detected, allowed, default, reply):
    assert reply_language(detected, allowed, default) == reply


def test_a_default_outside_the_allowed_languages_is_refused():
    with pytest.raises(ValueError, match="not among the allowed languages de, fr"):
        reply_language("de", ["de", "fr"], "en")
    with pytest.raises(ValueError, match="empty"):
        reply_language("de", [], " ")


def test_language_names_and_localised_texts():
    assert language_name("de") == "German"
    assert language_name("pt-BR") == "Portuguese"
    assert language_name("haw") == "haw"
    texts = {"en": "Hello", "pt": "Olá", "pt-BR": "Oi"}
    assert localized(texts, "pt-BR") == "Oi"
    assert localized(texts, "pt-PT") == "Olá"
    assert localized(texts, "ja") == "Hello"
    assert localized(texts, None) == "Hello"
