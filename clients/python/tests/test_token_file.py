"""The token file rules (no server needed): what the client refuses, and that the token shows nowhere."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from cofre_client import AsyncCofreClient, CofreClient, CofreConfigError, read_token_file

TOKEN = "cofre_" + "S3cr3tT0kenValue" * 2


def token_file(tmp_path: Path, mode: int = 0o600, text: str = TOKEN + "\n") -> Path:
    path = tmp_path / "agent.token"
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o620], ids=lambda m: format(m, "03o"))
def test_a_token_file_group_or_others_can_use_is_refused(tmp_path: Path, mode: int) -> None:
    path = token_file(tmp_path, mode)
    with pytest.raises(CofreConfigError) as caught:
        CofreClient(token_file=path)
    err = caught.value
    assert err.code == "COFRE_TOKEN_FILE_INSECURE"
    assert f"chmod 600 {path}" in err.message
    assert format(mode, "03o") in err.message
    assert TOKEN not in str(err)


def test_a_mode_600_or_400_token_file_is_read(tmp_path: Path) -> None:
    assert read_token_file(str(token_file(tmp_path))).reveal() == TOKEN
    assert read_token_file(str(token_file(tmp_path, 0o400))).reveal() == TOKEN


def test_no_token_file_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COFRE_TOKEN_FILE", raising=False)
    with pytest.raises(CofreConfigError) as caught:
        CofreClient()
    assert "COFRE_TOKEN_FILE" in caught.value.message
    with pytest.raises(CofreConfigError) as missing:
        CofreClient(token_file=tmp_path / "nope.token")
    assert missing.value.code == "COFRE_INPUT_INVALID"
    assert "nope.token" in missing.value.message


@pytest.mark.parametrize("text", ["", "\n", "two\nlines\n", "has space\n"], ids=["empty", "newline", "two-lines", "space"])
def test_a_token_file_without_one_token_on_one_line_is_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(CofreConfigError) as caught:
        CofreClient(token_file=token_file(tmp_path, text=text))
    assert caught.value.code == "COFRE_INPUT_INVALID"


def test_a_directory_or_a_huge_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "dir.token"
    folder.mkdir(mode=0o700)
    with pytest.raises(CofreConfigError, match="not a regular file"):
        CofreClient(token_file=folder)
    with pytest.raises(CofreConfigError, match="larger than"):
        CofreClient(token_file=token_file(tmp_path, text="a" * 5000))


def test_the_token_file_path_comes_from_cofre_token_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = token_file(tmp_path)
    monkeypatch.setenv("COFRE_TOKEN_FILE", str(path))
    monkeypatch.setenv("COFRE_URL", "http://127.0.0.1:9")
    client = CofreClient()
    assert client.token_file == str(path)
    assert client.base_url == "http://127.0.0.1:9"
    client.close()


def test_an_invalid_base_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CofreConfigError, match="base_url"):
        CofreClient("127.0.0.1:8787", token_file=token_file(tmp_path))


def test_the_token_appears_in_no_repr_str_or_pickle(tmp_path: Path) -> None:
    path = token_file(tmp_path)
    client = CofreClient(token_file=path)
    aclient = AsyncCofreClient(token_file=path)
    shown = [repr(client), str(client), repr(aclient), repr(vars(client)), repr(vars(aclient)),
             repr(client._http.headers), repr(read_token_file(str(path)))]
    for text in shown:
        assert TOKEN not in text
        assert "S3cr3t" not in text
    assert repr(client) == f"CofreClient(base_url='http://127.0.0.1:8787', token_file={str(path)!r})"
    with pytest.raises(TypeError):
        pickle.dumps(client)
    with pytest.raises(TypeError):
        pickle.dumps(read_token_file(str(path)))
    # The one way out, for MCP clients that take headers:
    assert client.bearer_headers() == {"Authorization": f"Bearer {TOKEN}"}
    client.close()
