"""The smallest Python agent: ask cofre for the paper account's balance.

With `npx cofre demo` running, from the repository's root:

    pip install ./clients/python
    COFRE_TOKEN_FILE=$(ls -t .cofre-demo/run-*/agent.token | head -1) python examples/python-get-balance.py

The URL comes from COFRE_URL (default http://127.0.0.1:8787), the token from the file COFRE_TOKEN_FILE names (a
path: the token itself is never in the environment or on the command line).
"""

from __future__ import annotations

import json
import sys

from cofre_client import CofreClient, CofreError


def main() -> int:
    try:
        with CofreClient() as cofre:
            print(json.dumps(cofre.get_balance(account="paper"), indent=2))
    except CofreError as err:  # no token file, cofre not running, a denial: one line, with cofre's code
        print(f"python-get-balance.py: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
