"""Every bad input of the corpus is refused by the client, before anything is sent, with the
field and the rule named: by validate(), and by prepare() (validate, then the uploads) on a
transport that counts what would have left the machine."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from client.errors import InvalidInput
from client.http import WanClient
from client.jobs import Prepared, prepare
from client.protocols import wire_for
from client.request import source_kind, validate
from tests.hardening.corpus import Case, build_corpus, check_typed_links, client_refusal

KEY = "sk-hardening-corpus"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build_corpus(tmp_path_factory.mktemp("corpus"))


def advice_fits(case: Case, refusal: InvalidInput) -> bool:
    return case.advice.lower() in refusal.rule.lower()


def test_corpus_through_validate(corpus):
    refused = accepted = wrong = 0
    for case in corpus:
        refusal = client_refusal(case)
        if case.field is None:
            assert refusal is None, f"{case.name}: refused unexpectedly: {refusal}"
            if case.notice:
                notices = validate(case.request).notices
                assert any(case.notice in n for n in notices), f"{case.name}: {notices}"
            accepted += 1
            continue
        assert refusal is not None, f"{case.name}: was accepted"
        if refusal.field != case.field or len(refusal.rule) < 15 or (
                not advice_fits(case, refusal)):
            wrong += 1
            print(f"{case.name}: named {refusal.field!r}: {refusal}")
        refused += 1
    print(f"\nbad-input corpus (client): cases tried {len(corpus)}, refused {refused}, "
          f"accepted as expected {accepted}, wrong field or advice {wrong}, crashes 0")
    assert len(corpus) >= 60
    assert wrong == 0


def test_messages_are_specific(corpus):
    for case in corpus:
        refusal = client_refusal(case)
        if refusal is not None:
            text = str(refusal)
            assert text.startswith(f"{refusal.field}: "), text
            assert "Traceback" not in text and "Error(" not in text, text


class Uploads:
    """The service's upload steps (getPolicy, then the OSS form POST), counting every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.endswith("/uploads"):
            return httpx.Response(200, json={"data": {
                "policy": "p", "signature": "s", "upload_dir": "d",
                "upload_host": "https://oss.test", "oss_access_key_id": "id"}})
        if request.url.host == "oss.test":
            return httpx.Response(200)
        return httpx.Response(599, text="prepare() must not create a task")


def prepared(case: Case) -> tuple[Prepared | InvalidInput, Uploads]:
    """What prepare() makes of a case (its Prepared, or its refusal) and what it sent."""
    service = Uploads()

    async def run() -> Prepared:
        async with WanClient(KEY, region=case.request.region,
                             transport=httpx.MockTransport(service)) as client:
            return await prepare(client, case.request)

    try:
        check_typed_links(case)
        return asyncio.run(run()), service
    except InvalidInput as refusal:
        return refusal, service


def test_corpus_through_prepare_sends_nothing_it_refuses(corpus):
    crashes: list[str] = []
    refused = uploaded = 0
    for case in corpus:
        try:
            outcome, service = prepared(case)
        except Exception as exc:  # noqa: BLE001 - anything but InvalidInput is a crash
            crashes.append(f"{case.name}: {type(exc).__name__}: {exc}")
            continue
        if case.field is not None:
            assert isinstance(outcome, InvalidInput), f"{case.name}: was prepared"
            assert outcome.field == case.field, f"{case.name}: named {outcome}"
            assert service.requests == [], f"{case.name}: sent {service.requests}"
            refused += 1
            continue
        assert isinstance(outcome, Prepared), f"{case.name}: refused: {outcome}"
        media = wire_for(outcome.request.model).media_of(outcome.payload["input"])
        local = [v for v in media.values() if source_kind(v) == "oss"]
        # One getPolicy and one OSS POST per local file, and its oss:// URL in the body.
        assert len(service.requests) == 2 * len(local), (case.name, service.requests)
        uploaded += len(local)
    print(f"\nbad-input corpus (prepare): cases tried {len(corpus)}, refused {refused} with 0 "
          f"requests sent, files uploaded for the accepted {uploaded}, crashes {len(crashes)}")
    assert crashes == []


def test_an_accepted_continuation_uploads_the_clip_into_media(corpus):
    (case,) = [c for c in corpus if c.name == "clip MOV the service takes"]
    outcome, service = prepared(case)
    assert isinstance(outcome, Prepared)
    assert outcome.payload["input"]["media"] == [{"type": "first_clip", "url": "oss://d/three.mov"}]
    assert outcome.payload["parameters"]["duration"] == 8 and outcome.oss
    (upload,) = [r for r in service.requests if r.url.host == "oss.test"]
    assert b"video/quicktime" in upload.read()


def test_a_template_drops_the_last_frame_before_it_is_uploaded(corpus):
    (case,) = [c for c in corpus if c.name == "kf2v plus template with a last frame"]
    outcome, service = prepared(case)
    assert isinstance(outcome, Prepared)
    assert outcome.payload["input"] == {"first_frame_url": "oss://d/good.jpg",
                                        "template": "hanfu-1"}
    assert len(service.requests) == 2  # the first frame's policy and upload only
