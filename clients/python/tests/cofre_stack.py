"""
A real cofre for the tests: `cofre init` in a temp dir, a config with the demo's policy, the paper exchange
(`cofre paper --create-keys`), an agent (`cofre agent add --token-file`) and `cofre serve`, each on a free loopback
port, run from this repository's bin/cofre.js (which needs dist/: `npm run build`, or `npm ci`).

Every child gets PR_SET_PDEATHSIG on Linux, so a killed pytest does not leave a broker or an exchange behind.

Run it alone to get a cofre to poke at, or to regenerate the types from its live document:

    python tests/cofre_stack.py              # prints the URL and the token file, serves until Ctrl-C
    python tests/cofre_stack.py --generate   # regenerates src/cofre_client/_generated.py from its live document
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[3]
COFRE_BIN = REPO / "bin" / "cofre.js"
START_TIMEOUT = 60.0

# The demo's policy (src/surfaces/cli/paper-provisioning.ts) with room for a test run: every action is allowed to
# the agent, so its OpenAPI document lists them all; orders up to 500 USDT run, 500 to 5,000 wait for an operator,
# larger ones are denied; quotas high enough that a fast test run never meets them by accident.
CONFIG = """\
# Written by clients/python/tests/cofre_stack.py for one pytest session.
backends:
  local:
    type: embedded
    path: cofre.store
    keyFile: cofre.key
accounts:
  paper:
    venue: binance
    mode: paper
    baseUrl: "http://127.0.0.1:{paper_port}"
    credentials:
      apiKey: local:exchanges/paper#apiKey
      secret: local:exchanges/paper#secret
addressBook:
  cold-usdt: {{ asset: USDT, network: TRX, address: "TDemoColdWalletPaperMoneyOnly000001" }}
services:
  # The paper exchange's public API as a service (issue 15): http to loopback, so `local: true`.
  paper-public:
    baseUrl: "http://127.0.0.1:{paper_port}/api/v3"
    secret: local:exchanges/paper#apiKey
    inject: {{ type: header, name: X-MBX-APIKEY }}
    paths: ["/time", "/ping"]
    local: true
policies:
  demo:
    rules:
      - allow: [list_accounts, get_limits, get_balance, get_ticker, get_open_orders, get_order, preview_order, cancel_order, cancel_all_orders]
        accounts: [paper]
      - name: small-orders
        allow: [place_order]
        accounts: [paper]
        maxNotional: 500
        priceBand: 5%
      - name: large-orders
        approve: [place_order]
        accounts: [paper]
        minNotional: 500
        maxNotional: 5000
        priceBand: 5%
      - name: withdrawals
        approve: [withdraw]
        accounts: [paper]
        destinations: [cold-usdt]
        maxAmount: 1000
      - allow: [http_request]
        services: [paper-public]
        methods: [GET]
      # Issue 19: no wallet or encryption key is configured here, so these are listed (and typed) but fail as
      # unknown when called.
      - allow: [get_wallet, preview_transaction, send_transaction, sign_typed_data, encrypt, decrypt, generate_data_key]
    limits:
      - {{ name: daily-spend, per: agent, window: 24h, notional: 1000000, quote: USDT }}
  balance-only:
    rules:
      - allow: [get_balance]
        accounts: [paper]
agents:
  tokenTtl: 1d
  quotas: {{ requestsPerSecond: {rps}, burst: {burst}, deniedPerMinute: 1000, deniedBurst: 1000 }}
approvals:
  expiry: 10m
audit:
  path: audit.jsonl
  signingKey: local:audit/signing-key
  hmacKey: local:audit/hmac-key
state:
  path: state.db
server:
  host: 127.0.0.1
  port: {serve_port}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    # Linux: SIGTERM the child when this process dies, even by SIGKILL.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def node() -> str:
    found = os.environ.get("COFRE_NODE") or shutil.which("node")
    if not found:
        raise RuntimeError("node is not on the PATH (cofre needs Node.js >= 20.19)")
    return found


class CofreStack:
    """One cofre (broker + paper exchange) in its own folder. Not safe to share between processes."""

    def __init__(self, root: Path) -> None:
        if not (REPO / "dist" / "index.js").exists():
            raise RuntimeError(f"{REPO}/dist is missing: run `npm run build` (or `npm ci`) in {REPO} first")
        self.dir = root
        self.dir.mkdir(parents=True, exist_ok=True)
        self.paper_port = free_port()
        self.serve_port = free_port()
        self.url = f"http://127.0.0.1:{self.serve_port}"
        self.config = self.dir / "cofre.yaml"
        self.token_file = self.dir / "agent.token"
        self._procs: dict[str, tuple[subprocess.Popen[bytes], IO[bytes]]] = {}

    # --- the CLI ---------------------------------------------------------------------------------------------

    def cli(self, *args: str, check: bool = True, config: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Runs `cofre <args>` in the stack's folder, against its config; output captured."""
        ran = subprocess.run(
            [node(), str(COFRE_BIN), "--config", str(config or self.config), *args],
            cwd=self.dir,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
            env=self._env(),
        )
        if check and ran.returncode != 0:
            raise RuntimeError(f"cofre {' '.join(args)} exited {ran.returncode}:\n{ran.stdout}\n{ran.stderr}")
        return ran

    def add_agent(self, agent_id: str, policy: str = "demo") -> Path:
        """Registers an agent and returns its token file (mode 600, written by cofre)."""
        path = self.dir / f"{agent_id}.token"
        self.cli("agent", "add", agent_id, "--policy", policy, "--token-file", str(path))
        return path

    # --- processes -------------------------------------------------------------------------------------------

    def start(self) -> CofreStack:
        ran = subprocess.run(
            [node(), str(COFRE_BIN), "init", "--dir", str(self.dir)],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120, env=self._env(),
        )
        if ran.returncode != 0:
            raise RuntimeError(f"cofre init failed:\n{ran.stdout}\n{ran.stderr}")
        self.write_config(self.config, serve_port=self.serve_port)
        self.start_paper(create_keys=True)
        self.cli("agent", "add", "py-agent", "--policy", "demo", "--token-file", str(self.token_file))
        self.start_serve("serve", self.config, self.url)
        return self

    def write_config(self, path: Path, *, serve_port: int, rps: float = 1000, burst: int = 1000) -> None:
        path.write_text(
            CONFIG.format(paper_port=self.paper_port, serve_port=serve_port, rps=rps, burst=burst), encoding="utf-8"
        )

    def start_paper(self, create_keys: bool = False) -> None:
        args = ["paper", "--create-keys"] if create_keys else ["paper"]
        self._spawn("paper", args, self.config)
        self._wait_port("paper", self.paper_port)

    def stop_paper(self) -> None:
        self._stop("paper")

    def start_serve(self, name: str, config: Path, url: str) -> None:
        self._spawn(name, ["serve"], config)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            self._check_alive(name)
            try:
                with urllib.request.urlopen(url + "/v1/health", timeout=2) as response:
                    if json.load(response).get("status") == "ok":
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"cofre {name} did not answer /v1/health:\n{self.log(name)}")
            time.sleep(0.1)

    def stop_serve(self, name: str = "serve") -> None:
        self._stop(name)

    def stop_all(self) -> None:
        for name in list(self._procs):
            self._stop(name)

    def log(self, name: str) -> str:
        path = self.dir / f"{name}.log"
        return path.read_text(encoding="utf-8", errors="replace")[-4000:] if path.exists() else ""

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COFRE_")}
        env["HOME"] = str(self.dir)
        return env

    def _spawn(self, name: str, args: list[str], config: Path) -> None:
        log = open(self.dir / f"{name}.log", "ab")  # noqa: SIM115 (closed in _stop)
        proc = subprocess.Popen(
            [node(), str(COFRE_BIN), "--config", str(config), *args],
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self._env(),
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )
        self._procs[name] = (proc, log)

    def _check_alive(self, name: str) -> None:
        proc, _ = self._procs[name]
        if proc.poll() is not None:
            raise RuntimeError(f"cofre {name} exited with {proc.returncode}:\n{self.log(name)}")

    def _wait_port(self, name: str, port: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            self._check_alive(name)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"cofre {name} did not listen on {port}:\n{self.log(name)}")
            time.sleep(0.1)

    def _stop(self, name: str) -> None:
        entry = self._procs.pop(name, None)
        if entry is None:
            return
        proc, log = entry
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def _main(argv: list[str]) -> int:
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="cofre-py-"))
    stack = CofreStack(root)
    try:
        stack.start()
        if argv[1:] == ["--generate"]:
            generator = Path(__file__).resolve().parents[1] / "scripts" / "generate_types.py"
            return subprocess.call(
                [sys.executable, str(generator), "--url", stack.url, "--token-file", str(stack.token_file)]
            )
        print(f"cofre at {stack.url}; token file {stack.token_file}; folder {root}", flush=True)
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
        return 0
    finally:
        stack.stop_all()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    sys.exit(_main(sys.argv))
