"""Query parsing as properties: what is written round-trips, nothing typed crashes it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from photoclip.core.model import FakeEmbedder, normalize
from photoclip.core.search import QueryError, QueryTerm, looks_like_image_path, parse_query, query_vector

word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzäéß0123456789_", min_size=1, max_size=8).filter(lambda w: not w[0].isdigit())
weights = st.sampled_from([None, "2", "0.5", "1.25", "3", "10"])
nonzero_weight = st.floats(-5, 5).filter(lambda w: abs(w) > 1e-3)
term = st.tuples(st.sampled_from([1.0, -1.0]), weights, st.lists(word, min_size=1, max_size=4), st.booleans())


def written(terms):
    """The tokens a user types for (sign, weight, words, sign as its own token)."""
    tokens = []
    for n, (sign, weight, words, separate) in enumerate(terms):
        first = f"{weight}*{words[0]}" if weight else words[0]
        mark = "-" if sign < 0 else "+"
        if n == 0 and sign > 0:
            tokens.append(first)
        elif separate:
            tokens += [mark, first]
        else:
            tokens.append(mark + first)
        tokens += words[1:]
    return tokens


@given(st.lists(term, min_size=1, max_size=5))
def test_signs_weights_and_words_round_trip(terms):
    assume(any(sign > 0 for sign, *_ in terms))
    expected = [QueryTerm("text", " ".join(words), sign * (float(weight) if weight else 1.0)) for sign, weight, words, _ in terms]
    assert parse_query(written(terms)) == expected


@given(st.lists(st.text(max_size=20), max_size=8))
def test_arbitrary_arguments_parse_or_raise_query_error(tokens):
    try:
        terms = parse_query(tokens)
    except QueryError as exc:
        assert str(exc)
        return
    assert terms and any(t.weight > 0 for t in terms)
    for t in terms:
        assert t.kind in ("text", "image") and np.isfinite(t.weight) and t.weight != 0
        if t.kind == "text":
            assert str(t.value).strip() and not looks_like_image_path(str(t.value))


@given(st.text(max_size=60))
def test_typed_text_split_like_the_app_parses_or_raises_query_error(text):
    try:
        parse_query(text.split())
    except QueryError:
        pass


@given(st.lists(st.text(alphabet=" \t\n\r\u00a0\u2003", max_size=5), max_size=5))
def test_blank_queries_are_a_query_error(tokens):
    with pytest.raises(QueryError, match="empty"):
        parse_query(tokens)


@given(st.lists(word, min_size=1, max_size=3))
def test_only_terms_to_avoid_is_a_query_error(words):
    with pytest.raises(QueryError, match="not only terms to avoid"):
        parse_query([f"-{w}" for w in words])


def test_an_image_like_word_must_exist(tmp_path):
    with pytest.raises(QueryError, match=r"No such file: holiday\.JPG"):
        parse_query(["beach", "+", "holiday.JPG"])
    assert parse_query(["a", "photo", "of", "jpg", "files"]) == [QueryTerm("text", "a photo of jpg files", 1.0)]


@pytest.mark.parametrize("token", ["0*beach", "0.0*beach", "-0*beach"])
def test_a_zero_weight_is_refused(token):
    with pytest.raises(QueryError, match="above 0"):
        parse_query(["sea", "+", token])


@given(st.lists(st.tuples(st.sampled_from(["beach", "people", "sunset"]), nonzero_weight), min_size=1, max_size=6))
def test_the_query_vector_is_the_normalised_weighted_sum(parts):
    table = {"beach": [1, 0, 0, 0], "people": [0, 1, 0, 0], "sunset": [0, 0, 1, 0]}
    embedder = FakeEmbedder(dim=4, text_vectors=table)
    terms = [QueryTerm("text", name, w) for name, w in parts]
    total = sum(w * np.asarray(table[name], np.float32) for name, w in parts)
    assume(np.linalg.norm(total) > 1e-3)
    vec = query_vector(terms, embedder)
    np.testing.assert_allclose(vec, normalize(total), atol=1e-5)
    assert np.linalg.norm(vec) == pytest.approx(1.0, abs=1e-5)


def test_terms_that_cancel_out_are_a_query_error():
    embedder = FakeEmbedder(dim=4, text_vectors={"beach": [1, 0, 0, 0]})
    with pytest.raises(QueryError, match="cancel out"):
        query_vector([QueryTerm("text", "beach", 2.0), QueryTerm("text", "beach", -2.0)], embedder)
