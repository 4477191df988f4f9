"""
Issue 17: the client without any cofre token. It exchanges a Kubernetes-style service-account token (from
tests/workload_issuer.py, read from a file the "kubelet" rewrites) at a real cofre's POST /v1/token, renews the
short-lived cofre token by itself across its expiry, exchanges again after a 401, and never shows either token.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Iterator

import pytest

from cofre_client import AsyncCofreClient, CofreApiError, CofreClient, CofreConfigError
from cofre_stack import CofreStack, free_port
from workload_issuer import KubernetesIssuer


class ExchangeCofre:
    def __init__(self, url: str, stack: CofreStack, issuer: KubernetesIssuer, token_file: Path) -> None:
        self.url, self.stack, self.issuer, self.token_file = url, stack, issuer, token_file

    def kubelet_writes(self, name: str, **kwargs: object) -> str:
        """What the kubelet does: (re)writes the projected token, mode 644 as a projected volume has by default."""
        token = self.issuer.token("trading", name, **kwargs)  # type: ignore[arg-type]
        self.token_file.write_text(token + "\n", encoding="utf-8")
        os.chmod(self.token_file, 0o644)
        return token

    def sessions(self, agent: str) -> list[dict[str, str]]:
        listed = self.stack.cli("agent", "tokens", "--agent", agent, "--json", config=self.stack.dir / "exchange.yaml")
        return json.loads(listed.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def exchange_cofre(cofre: CofreStack) -> Iterator[ExchangeCofre]:
    """A second `cofre serve` of the same stack, with its own state and audit log and the stand-in issuer trusted."""
    issuer = KubernetesIssuer()
    port = free_port()
    text = cofre.config.read_text(encoding="utf-8")
    text = text.replace(f"port: {cofre.serve_port}", f"port: {port}")
    text = text.replace("path: audit.jsonl", "path: audit-exchange.jsonl").replace("path: state.db", "path: state-exchange.db")
    text = text.replace(
        "agents:\n",
        "agents:\n"
        "  exchange:\n"
        f'    - issuer: "{issuer.url}"\n'
        "      audience: cofre\n"
        "      clockSkew: 0s\n"
        '      rules: [{ claims: { kubernetes.io.namespace: trading }, agent: "k8s-{kubernetes.io.serviceaccount.name}", policy: balance-only }]\n',
        1,
    )
    config = cofre.dir / "exchange.yaml"
    config.write_text(text, encoding="utf-8")
    url = f"http://127.0.0.1:{port}"
    cofre.start_serve("serve-exchange", config, url)
    try:
        yield ExchangeCofre(url, cofre, issuer, cofre.dir / "cofre-token")
    finally:
        cofre.stop_serve("serve-exchange")
        issuer.close()


def test_exchanges_once_and_hides_both_tokens(exchange_cofre: ExchangeCofre) -> None:
    subject = exchange_cofre.kubelet_writes("bot")
    with CofreClient(exchange_cofre.url, subject_token_file=exchange_cofre.token_file) as client:
        client.get_balance(account="paper")
        client.get_balance(account="paper")
        assert len(exchange_cofre.sessions("k8s-bot")) == 1
        shown = repr(client) + str(client) + repr(client.__dict__)
        assert subject[-30:] not in shown
        assert "cofre_st_" not in shown
        with pytest.raises(TypeError):
            import pickle

            pickle.dumps(client)


def test_keeps_working_across_expiry_rereading_the_rotated_file(exchange_cofre: ExchangeCofre) -> None:
    # A subject token that lives 3 s: the cofre token issued for it cannot live longer.
    exchange_cofre.kubelet_writes("short", lifetime=3)
    with CofreClient(exchange_cofre.url, subject_token_file=exchange_cofre.token_file) as client:
        client.get_balance(account="paper")
        [first] = exchange_cofre.sessions("k8s-short")
        exchange_cofre.kubelet_writes("short")
        expires = time.mktime(time.strptime(first["expires"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        while time.time() <= expires + 1:
            time.sleep(0.2)
        client.get_balance(account="paper")
        [second] = exchange_cofre.sessions("k8s-short")
        assert second["id"] != first["id"]
        assert second["expires"] > first["expires"]


def test_exchanges_again_after_a_401(exchange_cofre: ExchangeCofre) -> None:
    exchange_cofre.kubelet_writes("revoked")
    with CofreClient(exchange_cofre.url, subject_token_file=exchange_cofre.token_file) as client:
        client.get_balance(account="paper")
        [first] = exchange_cofre.sessions("k8s-revoked")
        exchange_cofre.stack.cli("agent", "revoke", "k8s-revoked", config=exchange_cofre.stack.dir / "exchange.yaml")
        client.get_balance(account="paper")
        [second] = exchange_cofre.sessions("k8s-revoked")
        assert second["id"] != first["id"]


def test_refusal_names_what_was_wrong_never_the_token(exchange_cofre: ExchangeCofre) -> None:
    subject = exchange_cofre.kubelet_writes("bot", audience="vault")
    with CofreClient(exchange_cofre.url, subject_token_file=exchange_cofre.token_file) as client:
        with pytest.raises(CofreApiError) as caught:
            client.get_balance(account="paper")
    err = caught.value
    assert err.code == "COFRE_TOKEN_EXCHANGE_REFUSED"
    assert err.status == 400
    assert "invalid_grant" in str(err) and "another audience" in str(err)
    assert subject[-30:] not in repr(err) + str(err)


def test_a_file_without_a_jwt_is_refused_without_quoting_it(exchange_cofre: ExchangeCofre) -> None:
    exchange_cofre.token_file.write_text("something-private\n", encoding="utf-8")
    with CofreClient(exchange_cofre.url, subject_token_file=exchange_cofre.token_file) as client:
        with pytest.raises(CofreConfigError) as caught:
            client.get_balance(account="paper")
    assert "not a JWT" in str(caught.value)
    assert "something-private" not in str(caught.value)


def test_one_credential_only(exchange_cofre: ExchangeCofre, cofre: CofreStack) -> None:
    with pytest.raises(CofreConfigError, match="not several"):
        CofreClient(exchange_cofre.url, token_file=cofre.token_file, subject_token_file=exchange_cofre.token_file)


@pytest.mark.anyio
async def test_async_client_with_a_coroutine_source(exchange_cofre: ExchangeCofre) -> None:
    calls = 0

    async def subject_token() -> str:
        nonlocal calls
        calls += 1
        return exchange_cofre.issuer.token("trading", "async-bot")

    async with AsyncCofreClient(exchange_cofre.url, subject_token=subject_token) as client:
        await client.get_balance(account="paper")
        await client.get_balance(account="paper")
    assert calls == 1
    assert len(exchange_cofre.sessions("k8s-async-bot")) == 1
