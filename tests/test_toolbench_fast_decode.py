"""ToolBench answer files take a fast typed decode (after the first few MB: msgspec's import costs
more than a full parse of a small input); both decoders must read exactly what the generic path reads."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentflan.errors import Location
from agentflan.sources import read
from agentflan.sources.toolbench import TYPED_DECODE_AFTER_BYTES, ToolBenchFormat
from conftest import shared_path


def _format(typed: bool) -> ToolBenchFormat:
    """A reader that has (or has not yet) seen enough bytes to take the msgspec decoder."""
    fmt = ToolBenchFormat()
    fmt._bytes_seen = TYPED_DECODE_AFTER_BYTES + 1 if typed else 0
    return fmt


@pytest.mark.parametrize("typed", [False, True])
def test_fast_decode_gives_the_same_conversations_as_a_full_parse(typed: bool) -> None:
    fmt = _format(typed)
    files = sorted(shared_path("toolbench", "answers").rglob("*.json"))
    assert len(files) == 15
    for path in files:
        data = path.read_bytes()
        reduced = fmt.decode_file(data)
        assert reduced is not None, path
        assert set(reduced) == {"answer_generation"}
        loc = Location(str(path))
        assert list(fmt.convert(reduced, loc)) == list(fmt.convert(orjson.loads(data), loc))


def test_read_uses_the_fast_path_and_still_finds_every_step() -> None:
    convs = list(read(shared_path("toolbench", "answers")))
    assert len(convs) == 50  # the ToolLLaMA reference's sample count
    assert all(c.source == "toolbench" for c in convs)


@pytest.mark.parametrize("typed", [False, True])
def test_other_documents_are_left_to_the_generic_path(typed: bool) -> None:
    fmt = _format(typed)
    docs = (b"[]", b'{"conversation": []}', b'{"answer_generation": 3}', b'["answer_generation"]', b'{"answer_generation": {}', b"{not json", b"")
    for doc in docs:
        assert fmt.decode_file(doc) is None


def test_a_large_input_switches_to_the_typed_decoder_with_the_same_result() -> None:
    """One reader over more than the threshold: the files before and after the switch read alike."""
    path = sorted(shared_path("toolbench", "answers").rglob("*.json"))[0]
    data = path.read_bytes()
    fmt = ToolBenchFormat()
    first = fmt.decode_file(data)
    fmt._bytes_seen = TYPED_DECODE_AFTER_BYTES
    assert fmt.decode_file(data) == first


@pytest.mark.parametrize("typed", [False, True])
@given(doc=st.binary(max_size=200) | st.recursive(st.none() | st.integers(-9, 9) | st.text(max_size=5),
                                             lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3)).map(orjson.dumps))
def test_fast_decode_never_raises(typed: bool, doc: bytes) -> None:
    result = _format(typed).decode_file(doc)
    assert result is None or isinstance(result["answer_generation"], dict)
