"""
A stand-in Kubernetes service-account issuer for the Python client's exchange tests, written from the Kubernetes
documentation (service-account issuer discovery, projected tokens): ``/.well-known/openid-configuration``,
``/openid/v1/jwks``, and RS256 tokens with ``iss``, ``sub: system:serviceaccount:<ns>:<name>``, ``aud``, ``exp``
and the ``kubernetes.io`` claim. PyJWT signs; it shares nothing with cofre's code.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


class KubernetesIssuer:
    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = uuid.uuid4().hex
        jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self._kid, "use": "sig", "alg": "RS256"})
        issuer_box: dict[str, str] = {}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path == "/.well-known/openid-configuration":
                    body: Any = {
                        "issuer": issuer_box["url"],
                        "jwks_uri": issuer_box["url"] + "/openid/v1/jwks",
                        "response_types_supported": ["id_token"],
                        "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                    }
                elif self.path == "/openid/v1/jwks":
                    body = {"keys": [jwk]}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        issuer_box["url"] = self.url
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def token(self, namespace: str, name: str, *, audience: str = "cofre", lifetime: int = 3600) -> str:
        now = int(time.time())
        claims = {
            "iss": self.url,
            "sub": f"system:serviceaccount:{namespace}:{name}",
            "aud": [audience],
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
            "kubernetes.io": {
                "namespace": namespace,
                "pod": {"name": f"{name}-6f7c9-abcde", "uid": str(uuid.uuid4())},
                "serviceaccount": {"name": name, "uid": str(uuid.uuid4())},
            },
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self._kid})

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
