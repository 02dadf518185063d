import pytest
from hypothesis import given
from hypothesis import strategies as st

from voice_agent.web.origins import InvalidOrigin, frame_ancestors_policy, parse_allowed_origins


def test_origins_are_normalized_and_deduplicated():
    raw = " https://Shop.Example.com/ \n\nhttp://localhost:8080\nhttps://shop.example.com\n"
    assert parse_allowed_origins(raw) == ["https://shop.example.com", "http://localhost:8080"]


@pytest.mark.parametrize("line", [
    "shop.example.com", "ftp://shop.example.com", "https://shop.example.com/path", "https://shop.example.com?x=1",
    "https://user@shop.example.com", "https://", "https://a.com; script-src *", "https://a.com 'unsafe-inline'",
])
def test_anything_but_an_origin_is_refused_by_name(line):
    with pytest.raises(InvalidOrigin) as refused:
        parse_allowed_origins(f"https://fine.example.com\n{line}")
    assert str(refused.value) == line.strip()


def test_the_policy_lets_only_the_site_and_the_listed_origins_frame_the_page():
    assert frame_ancestors_policy([]) == "frame-ancestors 'self'"
    assert frame_ancestors_policy(["https://shop.example.com"]) == "frame-ancestors 'self' https://shop.example.com"


lines = st.one_of(st.text(max_size=40), st.text(max_size=40).map(lambda t: "https://" + t),
                  st.from_regex(r"https://[a-z0-9.-]{1,20}(:[0-9]{1,5})?/?", fullmatch=True))


@given(st.lists(lines, max_size=5))
def test_no_input_can_inject_another_directive(raw_lines):
    try:
        origins = parse_allowed_origins("\n".join(raw_lines))
    except InvalidOrigin:
        return
    policy = frame_ancestors_policy(origins)
    assert all(o.isascii() and o.isprintable() and not set(o) & set(" ;,'\"") for o in origins)
    assert policy.split(" ")[2:] == origins
