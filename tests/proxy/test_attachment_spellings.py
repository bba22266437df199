"""No spelling of an attachment path escapes its scoping (catalog.rest.attachment_id,
gateway/attachments.py): API 2, 3 or latest, `content/`, `thumbnail/`, `expand/...`, trailing
segments, leading zeros, another case, percent-encoded letters, a trailing slash, GET or
DELETE. The pure property on the path reader, and the same spellings sent to a real
Jiragate in front of the sandbox, where the bot may not read OPS: every one is refused and
none reaches Jira's attachment routes (before and after Jiragate learned the owner)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiragate.catalog.rest import RestPathError, attachment_id, owned_ids, parse_rest_path
from jiragate.gateway.attachments import normalised_id
from tests.conftest_db import db_url, postgres_admin  # noqa: F401
from tests.helpers.service import Service
from tests.proxy.support import service_with_policy
from tests.proxy.test_attachment_scope import OPS_BYTES, POLICY, upload
from tests.proxy.test_read_rows import client

_CASES = st.sampled_from(["attachment", "Attachment", "ATTACHMENT", "%61ttachment"])
_FORMS = st.sampled_from(
    [
        "{id}",
        "content/{id}",
        "thumbnail/{id}",
        "Content/{id}",
        "{id}/expand/human",
        "{id}/expand/raw",
        "th%75mbnail/{id}",
    ]
)
_TAILS = st.lists(st.sampled_from(["x", "10003", "ENG-3", "meta", "content", "raw"]), max_size=2)


@st.composite
def spellings(draw: st.DrawFn, ident: str) -> tuple[str, str]:
    version = draw(st.sampled_from(["2", "3", "latest"]))
    zeros = "0" * draw(st.integers(0, 3))
    form = draw(_FORMS).replace("{id}", zeros + ident)
    tail = "".join(f"/{segment}" for segment in draw(_TAILS))
    slash = "/" if draw(st.booleans()) else ""
    method = draw(st.sampled_from(["GET", "DELETE"]))
    return method, f"/rest/api/{version}/{draw(_CASES)}/{form}{tail}{slash}"


@settings(max_examples=300, deadline=None)
@given(spellings("10042"))
def test_every_spelling_names_its_attachment(spelling: tuple[str, str]) -> None:
    _, path = spelling
    try:
        parsed = parse_rest_path(path)
    except RestPathError:
        return  # refused outright: not forwarded either
    named = attachment_id(parsed)
    assert named is not None, path
    assert ("attachment", named) in owned_ids(parsed)
    assert normalised_id(named) == "10042", path  # the attachment Jira would serve


@pytest.mark.parametrize("version", ["2", "3", "latest"])
def test_meta_is_no_attachment(version: str) -> None:
    assert attachment_id(parse_rest_path(f"/rest/api/{version}/attachment/meta")) is None
    # Anything under it is an id Jira would route (and Jiragate refuses: "meta" is no number).
    assert attachment_id(parse_rest_path(f"/rest/api/{version}/attachment/meta/x")) == "meta"
    assert attachment_id(parse_rest_path(f"/rest/api/{version}/attachment/content")) == "content"


@pytest.fixture
def strict(db_url: str, tmp_path: Path) -> Iterator[Service]:  # noqa: F811
    with service_with_policy(db_url, tmp_path, POLICY) as running:
        yield running


def _attachment_calls(service: Service, since: int) -> list[str]:
    return [
        r.path for r in list(service.sandbox.logged())[since:] if "/attachment" in r.path.lower()
    ]


def test_no_spelling_reaches_jira_unscoped(strict: Service) -> None:
    ops = upload(strict, "OPS-1", "incident.txt", OPS_BYTES)
    with client(strict) as bot, client(strict, "ide-assistant") as privileged:

        @settings(
            max_examples=40,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
            database=None,
        )
        @given(spelling=spellings(ops), learned=st.booleans())
        def probe(spelling: tuple[str, str], learned: bool) -> None:
            if learned:  # a privileged read taught Jiragate OPS-1's attachments
                assert privileged.get("/rest/api/3/issue/OPS-1").status_code == 200
            method, path = spelling
            since = len(list(strict.sandbox.logged()))
            answer = bot.request(method, path)
            assert answer.status_code == 400, (method, path, answer.text)
            assert _attachment_calls(strict, since) == [], (method, path)

        probe()
    assert [a["id"] for a in strict.sandbox.issues["OPS-1"].attachments] == [ops]
