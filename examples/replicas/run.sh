#!/usr/bin/env bash
# Two cofre replicas on one PostgreSQL, on this machine, with no Docker (issue 16). From a clone:
#
#   npm ci && npm run build && examples/replicas/run.sh
#
# It starts an embedded PostgreSQL, writes a config whose state (and audit log) live there, migrates the schema,
# runs the paper exchange and two `cofre serve` replicas on two ports, adds an agent, places an order through each
# replica, shows that a halt given once stops both, and then leaves everything running until Ctrl-C, which stops
# it all and removes the temporary directory. `--no-wait` stops right after the walkthrough (used by the test).
set -euo pipefail

wait_for_ctrl_c=1
for arg in "$@"; do
  case "$arg" in
    --no-wait) wait_for_ctrl_c=0 ;;
    -h | --help)
      sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "unknown option: $arg (try --help)" >&2
      exit 2
      ;;
  esac
done

repo="$(cd "$(dirname "$0")/../.." && pwd)"
if [[ ! -f "$repo/dist/surfaces/cli/entry.js" ]]; then
  echo "dist/ is missing: run npm ci && npm run build first" >&2
  exit 1
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/cofre-replicas-XXXXXX")"
cofre() { node "$repo/bin/cofre.js" -c "$work/cofre.yaml" "$@"; }
# In the background, its pid in $! being node's own (a function would leave a subshell's there).
cofre_bg() { node "$repo/bin/cofre.js" -c "$work/cofre.yaml" "$@" & }
pids=()
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "stopping the replicas, the paper exchange and PostgreSQL"
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_for_port() {
  local tries=0
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    tries=$((tries + 1))
    if ((tries > 300)); then
      echo "nothing listens on port $1 after 60 s; logs in $work" >&2
      exit 1
    fi
    sleep 0.2
  done
}
# POST a JSON body to a replica with a bearer token; prints the answer.
post() { curl -sS -X POST -H "authorization: Bearer $2" -H 'content-type: application/json' --data "$3" "$1"; }

echo "== 1. an embedded PostgreSQL (in production: your managed or Patroni cluster)"
# tsx (a devDependency) resolves from the clone, so it runs from there.
coproc POSTGRES { cd "$repo" && exec node --import tsx examples/replicas/embedded-postgres.ts 2>"$work/postgres.log"; }
pids+=("$POSTGRES_PID")
if ! read -r database_url <&"${POSTGRES[0]}"; then
  echo "PostgreSQL did not start:" >&2
  cat "$work/postgres.log" >&2
  exit 1
fi
echo "   running; its connection string goes into cofre's encrypted store, never into the config"

echo "== 2. a config: state type postgres, the URL by secret reference"
cofre init --dir "$work" >/dev/null 2>&1
paper_port="$(free_port)"
sed -i.bak \
  -e "s#baseUrl: http://127.0.0.1:8788#baseUrl: http://127.0.0.1:$paper_port#" \
  -e '/^state:/,$d' "$work/cofre.yaml"
cat >>"$work/cofre.yaml" <<'YAML'
state:
  type: postgres # every replica shares agents, requests, limits, approvals, the halt and one audit chain here
  url: local:state/url # the connection string, kept in cofre's encrypted store
  ssl: disable # the embedded server listens on loopback only; use require or verify-full in production
  heartbeat: 1s # each replica says it is alive this often
  lease: 5s # a replica silent this long is taken for dead; a survivor adopts its unfinished requests
YAML
rm -f "$work/cofre.yaml.bak"
printf '%s\n' "$database_url" | cofre secret put state/url >/dev/null 2>&1
unset database_url
echo "   $work/cofre.yaml"

echo "== 3. cofre state migrate (a replica refuses to serve on a schema it does not know)"
cofre state migrate | sed 's/^/   /'

echo "== 4. the paper exchange, and two replicas"
cofre_bg paper --create-keys >"$work/paper.log" 2>&1
pids+=("$!")
wait_for_port "$paper_port"
ports=("$(free_port)" "$(free_port)")
while [[ "${ports[0]}" == "${ports[1]}" ]]; do ports[1]="$(free_port)"; done
replica_pids=()
for i in 0 1; do
  # Each replica its own console port too (0: a free one, printed in its log); on separate hosts both keep 8789.
  cofre_bg serve --port "${ports[$i]}" --console-port 0 >"$work/replica-$((i + 1)).log" 2>&1
  pids+=("$!")
  replica_pids+=("$!")
done
for i in 0 1; do
  wait_for_port "${ports[$i]}"
  echo "   replica $((i + 1)): http://127.0.0.1:${ports[$i]} (pid ${replica_pids[$i]}, log: $work/replica-$((i + 1)).log)"
done

echo "== 5. an agent, added once, known to both replicas"
cofre agent add trader --token-file "$work/trader.token" >/dev/null 2>&1
token="$(cat "$work/trader.token")"
echo "   token in $work/trader.token"

echo "== 6. one order through each replica"
order() { printf '{"account":"paper","symbol":"BTC/USDT","side":"buy","type":"market","amount":"0.001","clientOrderId":"%s"}' "$1"; }
for i in 0 1; do
  echo "   replica $((i + 1)): $(post "http://127.0.0.1:${ports[$i]}/v1/actions/place_order" "$token" "$(order "example-$((i + 1))")")"
done
echo "   the same clientOrderId again, through the other replica (answered from the shared state, not sent twice):"
echo "   replica 2: $(post "http://127.0.0.1:${ports[1]}/v1/actions/place_order" "$token" "$(order example-1)")"

echo "== 7. cofre halt, given once on this host, stops both replicas before their next order"
cofre halt --reason "replicas example" 2>&1 | sed 's/^/   /'
for i in 0 1; do
  echo "   replica $((i + 1)): $(post "http://127.0.0.1:${ports[$i]}/v1/actions/place_order" "$token" "$(order "halted-$((i + 1))")")"
done
cofre resume 2>&1 | sed 's/^/   /'

echo "== 8. one audit chain for both replicas, in PostgreSQL"
cofre audit verify | sed 's/^/   /'

cat <<EOF

What to look at (in another terminal; the config is $work/cofre.yaml):
  node $repo/bin/cofre.js -c $work/cofre.yaml audit verify      the one hash chain of every replica
  node $repo/bin/cofre.js -c $work/cofre.yaml audit tail -n 10 --follow   the chain, as the replicas write it
  node $repo/bin/cofre.js -c $work/cofre.yaml audit export --out $work/chain.jsonl   the chain as a file log
  node $repo/bin/cofre.js -c $work/cofre.yaml halt / resume     the kill switch, for both replicas at once
  node $repo/bin/cofre.js -c $work/cofre.yaml request list      requests executing on any replica
  kill -9 ${replica_pids[0]} (replica 1): replica 2 keeps serving; after the lease (5 s) it adopts the dead one's
    unfinished requests and settles them at the venue once its signed requests can no longer arrive (60 s)
  replica logs: $work/replica-1.log, $work/replica-2.log
EOF

if ((wait_for_ctrl_c)); then
  echo
  echo "Running. Ctrl-C stops everything and removes $work."
  wait
fi
