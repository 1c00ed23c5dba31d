#!/usr/bin/env bash
# A private Radicale (CardDAV) server for the carddav source's tests: its own config, users file
# and storage under $CALLCARD_RADICALE_DIR (default /tmp/callcard-radicale), on 127.0.0.1:5232,
# user callcard / password callcard. Installs Debian's radicale when missing; leaves the system
# service alone. Safe to run again: a running instance is reused.
set -euo pipefail

DIR="${CALLCARD_RADICALE_DIR:-/tmp/callcard-radicale}"
HOST=127.0.0.1
PORT="${CALLCARD_RADICALE_PORT:-5232}"
USER_NAME=callcard
USER_PASSWORD=callcard
URL="http://$HOST:$PORT/"

say() { echo "radicale: $*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else say "needs root to install the radicale package (or install it first)" >&2; exit 1
  fi
}

install_radicale() {
  say "installing Debian's radicale package"
  # Keep the package's own system service from starting during the install (as in containers):
  # it would serve another configuration, possibly on the same port.
  local policy=/usr/sbin/policy-rc.d made_policy=""
  if [ ! -e "$policy" ]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    made_policy=1
  fi
  local status=0
  {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q radicale >/dev/null ||
      { as_root apt-get update -q >/dev/null &&
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q radicale >/dev/null; }
  } || status=$?
  [ -n "$made_policy" ] && as_root rm -f "$policy"
  [ "$status" -eq 0 ] || { say "apt-get install radicale failed" >&2; exit "$status"; }
}

# HTTP status of an authenticated PROPFIND on the user's collection, or 000 when nothing answers.
# Debian's python3 comes with radicale, so no curl is needed.
probe() {
  /usr/bin/python3 - "$URL$USER_NAME/" "$USER_NAME:$USER_PASSWORD" <<'PY' 2>/dev/null || echo 000
import base64, sys, urllib.error, urllib.request
url, credentials = sys.argv[1], sys.argv[2]
request = urllib.request.Request(url, method="PROPFIND", headers={
    "Depth": "0",
    "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(),
})
try:
    with urllib.request.urlopen(request, timeout=2) as response:
        print(response.status)
except urllib.error.HTTPError as error:
    print(error.code)
PY
}

if [ ! -x /usr/bin/radicale ]; then install_radicale; fi

status="$(probe)"
if [ "$status" = 207 ]; then
  say "ready at $URL (already running; user $USER_NAME, password $USER_PASSWORD)"
  exit 0
fi
if [ "$status" != 000 ]; then
  say "something else answers on $HOST:$PORT (HTTP $status to $USER_NAME); stop it or set CALLCARD_RADICALE_PORT" >&2
  exit 1
fi

mkdir -p "$DIR/collections"
chmod 700 "$DIR"
# A test fixture: plain text passwords are fine here, never on a real server.
printf '%s:%s\n' "$USER_NAME" "$USER_PASSWORD" > "$DIR/users"
cat > "$DIR/config" <<CONF
[server]
hosts = $HOST:$PORT

[auth]
type = htpasswd
htpasswd_filename = $DIR/users
htpasswd_encryption = plain
# Wrong passwords are part of the tests: answer them at once.
delay = 0

[rights]
# Each user reads and writes only their own collections.
type = owner_only

[storage]
filesystem_folder = $DIR/collections

[web]
type = none

[logging]
level = warning
CONF

# --config replaces the default files (/etc/radicale/config...), so nothing of the system's applies.
# Detached, with no terminal or pipe of the caller's held open.
setsid /usr/bin/radicale --config "$DIR/config" >>"$DIR/radicale.log" 2>&1 </dev/null &
echo $! > "$DIR/radicale.pid"

for _ in $(seq 1 100); do
  status="$(probe)"
  if [ "$status" = 207 ]; then
    say "ready at $URL (pid $(cat "$DIR/radicale.pid"); user $USER_NAME, password $USER_PASSWORD; storage $DIR/collections)"
    exit 0
  fi
  if ! kill -0 "$(cat "$DIR/radicale.pid")" 2>/dev/null; then break; fi
  sleep 0.2
done
say "did not start (last answer: $status); its log, $DIR/radicale.log:" >&2
tail -n 20 "$DIR/radicale.log" >&2 || true
exit 1
