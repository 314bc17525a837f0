"""A token file is re-read once a minute, at once after a 401, and survives a bad re-read."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from proxy.credentials.token_file import REREAD_AFTER_SECONDS, TokenFileSource
from proxy.errors import CredentialError


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def source_for(path: Path, clock: FakeClock) -> TokenFileSource:
    return TokenFileSource(path, field="users[name=u].user.tokenFile", clock=clock)


async def test_rotated_token_used_after_a_minute(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "token"
    path.write_text("first\n")
    source = source_for(path, clock)
    assert (await source.credential()).authorization == "Bearer first"
    path.write_text("second")
    clock.now += REREAD_AFTER_SECONDS - 1
    assert (await source.credential()).authorization == "Bearer first"
    clock.now += 2
    assert (await source.credential()).authorization == "Bearer second"


async def test_invalidate_after_401_rereads_at_once(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "token"
    path.write_text("old")
    source = source_for(path, clock)
    used = await source.credential()
    path.write_text("new")
    source.invalidate(used)
    assert (await source.credential()).authorization == "Bearer new"


async def test_failed_reread_keeps_the_last_good_token(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "token"
    path.write_text("good-token-value")
    source = source_for(path, clock)
    await source.credential()
    path.unlink()
    clock.now += REREAD_AFTER_SECONDS + 1
    with caplog.at_level(logging.WARNING):
        assert (await source.credential()).authorization == "Bearer good-token-value"
    assert "still using the token read before" in caplog.text
    assert "good-token-value" not in caplog.text


async def test_first_read_failure_is_an_error_naming_the_file(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "empty"
    path.write_text("  \n")
    with pytest.raises(CredentialError, match="is empty") as info:
        await source_for(path, clock).credential()
    assert str(path) in str(info.value)
