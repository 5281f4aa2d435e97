"""Every bad input of the corpus is refused by validate() with the field and the rule named."""

from __future__ import annotations

import pytest

from tests.hardening.corpus import build_corpus, client_refusal


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build_corpus(tmp_path_factory.mktemp("corpus"))


def test_corpus_through_validate(corpus):
    refused = accepted = wrong = 0
    for case in corpus:
        refusal = client_refusal(case)
        if case.field is None:
            assert refusal is None, f"{case.name}: refused unexpectedly: {refusal}"
            accepted += 1
            continue
        assert refusal is not None, f"{case.name}: was accepted"
        if refusal.field != case.field or len(refusal.rule) < 15:
            wrong += 1
            print(f"{case.name}: named {refusal.field!r}: {refusal}")
        refused += 1
    print(f"\nbad-input corpus (client): cases tried {len(corpus)}, refused {refused}, "
          f"accepted as expected {accepted}, wrong field {wrong}, crashes 0")
    assert len(corpus) >= 60
    assert wrong == 0


def test_messages_are_specific(corpus):
    for case in corpus:
        refusal = client_refusal(case)
        if refusal is not None:
            text = str(refusal)
            assert text.startswith(f"{refusal.field}: "), text
            assert "Traceback" not in text and "Error(" not in text, text
