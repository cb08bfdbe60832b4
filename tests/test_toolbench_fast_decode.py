"""ToolBench answer files take a fast typed decode; it must read exactly what the generic path reads."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from agentflan.errors import Location
from agentflan.sources import read
from agentflan.sources.toolbench import ToolBenchFormat
from conftest import shared_path


def test_fast_decode_gives_the_same_conversations_as_a_full_parse() -> None:
    fmt = ToolBenchFormat()
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


def test_other_documents_are_left_to_the_generic_path() -> None:
    fmt = ToolBenchFormat()
    for doc in (b"[]", b'{"conversation": []}', b'{"answer_generation": 3}', b"{not json", b""):
        assert fmt.decode_file(doc) is None


@given(st.binary(max_size=200) | st.recursive(st.none() | st.integers(-9, 9) | st.text(max_size=5),
                                             lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3)).map(orjson.dumps))
def test_fast_decode_never_raises(doc: bytes) -> None:
    result = ToolBenchFormat().decode_file(doc)
    assert result is None or isinstance(result["answer_generation"], dict)
