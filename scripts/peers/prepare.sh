#!/usr/bin/env bash
# Runs before `npm test`: installs the peers the tests use (idempotent, ~0.2 s when already installed).
# In CI (any non-empty CI: true, 1, yes, ...) a peer that cannot be installed fails the run. Elsewhere it is
# reported loudly and the tests that need it are skipped, so a laptop without, say, Python can still run the rest.
# lowkey-vault is installed only when LOWKEY_VAULT_JAR names a jar (no registry here serves it; PEERS.md), and its
# test runs only then.
set -uo pipefail
cd "$(dirname "$0")/../.."
peers=("$@")
# No arguments means every peer, lowkey included.
if [ ${#peers[@]} -gt 0 ] && [ -n "${LOWKEY_VAULT_JAR:-}" ] && [[ " ${peers[*]} " != *" lowkey "* ]]; then peers+=(lowkey); fi
if bash scripts/peers/install.sh "${peers[@]}"; then exit 0; fi
if [ -n "${CI:-}" ]; then
  echo "prepare: installing the test peers failed; CI needs every peer" >&2
  exit 1
fi
echo "!!! prepare: some test peers could not be installed; their integration tests will be SKIPPED (see above)" >&2
exit 0
