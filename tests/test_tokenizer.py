"""Word pieces: one tokenizer module for prompt budgets and document chunks (MiniLM's WordPiece by default)."""

from __future__ import annotations

import pytest

from omne.tokenizer import WordPieces, fast_tokenizer, word_pieces

TEXTS = ["Hello there, how are you?", "Ümlaut café — naïve résumé", "| a | b |\n| --- | --- |", "tok " * 40]


def test_the_packaged_tokenizer_counts_like_the_embedders_own(embedder):
    pieces = word_pieces()
    own = embedder.tokenizer
    for text in TEXTS:
        assert pieces.count(text) == len(own.encode(text, add_special_tokens=False).ids)
    assert word_pieces(embedder) is pieces  # MiniLM embedders count with the packaged MiniLM tokenizer


def test_clip_and_windows_cut_at_token_boundaries():
    pieces = word_pieces()
    text = "The harbour master logged shipment seventeen at nine o'clock."
    clipped = pieces.clip(text, 4)
    assert text.startswith(clipped) and pieces.count(clipped) == 4 and pieces.clip(text, 100) == text
    assert pieces.clip(text, 0) == ""
    spans = pieces.windows("tok " * 30, 8, 2)
    assert all(pieces.count(("tok " * 30)[a:b]) <= 8 for a, b in spans)
    assert spans[0][0] == 0 and spans[-1][1] == len("tok " * 30) - 1


def test_an_embedder_with_its_own_tokenizer_is_counted_with_it(embedder):
    class Custom:
        tokenizer = embedder.tokenizer  # a tokenizers.Tokenizer

    mine = word_pieces(Custom())
    assert mine is not word_pieces() and mine is word_pieces(Custom())
    assert mine.count(TEXTS[0]) == word_pieces().count(TEXTS[0])
    before = embedder.tokenizer.truncation
    WordPieces(embedder.tokenizer)
    assert embedder.tokenizer.truncation == before
    with pytest.raises(TypeError, match="not a fast"):
        fast_tokenizer(object())
