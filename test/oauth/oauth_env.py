"""What the two Python OAuth test clients share: an in-memory token store and the client-credentials provider an
agent builds from its registration (MCP_URL, OAUTH_ISSUER, OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET in the environment).
The scripts import it as a sibling module (Python puts the script's folder first on sys.path)."""

import os

from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken


class MemoryStorage:
    """Tokens live in this process only."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


def provider_from_env(storage: MemoryStorage) -> ClientCredentialsOAuthProvider:
    """The provider for MCP_URL, sending the client's credentials to OAUTH_ISSUER only."""
    return ClientCredentialsOAuthProvider(
        server_url=os.environ["MCP_URL"],
        storage=storage,
        client_id=os.environ["OAUTH_CLIENT_ID"],
        client_secret=os.environ["OAUTH_CLIENT_SECRET"],
        issuer=os.environ["OAUTH_ISSUER"],
    )
