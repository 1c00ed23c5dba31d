#!/usr/bin/env bash
# A private OpenLDAP server for the ldap source's tests: its own cn=config and MDB database under
# $CALLCARD_SLAPD_DIR (default /tmp/callcard-slapd), on ldap://127.0.0.1:3389, suffix
# dc=callcard,dc=test, rootdn cn=admin,dc=callcard,dc=test / password admin (test only). Installs
# Debian's slapd and ldap-utils when missing and leaves the system's slapd alone. Safe to run
# again: a running instance is reused, an existing database kept.
set -euo pipefail

DIR="${CALLCARD_SLAPD_DIR:-/tmp/callcard-slapd}"
HOST=127.0.0.1
PORT="${CALLCARD_SLAPD_PORT:-3389}"
URL="ldap://$HOST:$PORT/"
SUFFIX=dc=callcard,dc=test
ROOT_DN="cn=admin,$SUFFIX"
ROOT_PASSWORD=admin
SCHEMAS=(core cosine inetorgperson nis)

say() { echo "slapd: $*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else say "needs root to install slapd (or install slapd and ldap-utils first)" >&2; exit 1
  fi
}

install_slapd() {
  say "installing Debian's slapd and ldap-utils packages"
  # No system database and no system service: this script runs its own instance, and the package's
  # would take port 389 and a configuration of its own.
  echo 'slapd slapd/no_configuration boolean true' | as_root debconf-set-selections
  local policy=/usr/sbin/policy-rc.d made_policy=""
  if [ ! -e "$policy" ]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    made_policy=1
  fi
  local status=0
  {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q slapd ldap-utils >/dev/null ||
      { as_root apt-get update -q >/dev/null &&
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q slapd ldap-utils >/dev/null; }
  } || status=$?
  [ -n "$made_policy" ] && as_root rm -f "$policy"
  [ "$status" -eq 0 ] || { say "apt-get install slapd ldap-utils failed" >&2; exit "$status"; }
}

# 0: our database answers to the admin; 49: something answers but not with our credentials;
# 32: it answers without our suffix; anything else: nothing usable answers.
probe() {
  local status=0
  ldapsearch -x -LLL -o nettimeout=2 -H "$URL" -D "$ROOT_DN" -w "$ROOT_PASSWORD" \
    -b "$SUFFIX" -s base dn >/dev/null 2>&1 || status=$?
  echo "$status"
}

if ! command -v slapd >/dev/null && [ ! -x /usr/sbin/slapd ]; then install_slapd; fi
if ! command -v ldapsearch >/dev/null; then install_slapd; fi
SLAPD=/usr/sbin/slapd
SLAPADD=/usr/sbin/slapadd

status="$(probe)"
if [ "$status" = 0 ]; then
  say "ready at $URL (already running; $SUFFIX, bind $ROOT_DN / $ROOT_PASSWORD)"
  exit 0
fi
if [ "$status" = 49 ] || [ "$status" = 32 ]; then
  say "another LDAP server answers on $HOST:$PORT (ldapsearch exit $status); stop it or set CALLCARD_SLAPD_PORT" >&2
  exit 1
fi

CONFIG="$DIR/config"
DATA="$DIR/data"
# A config left half-made by an interrupted run is made again; a complete one is kept with its data.
if [ ! -f "$CONFIG/cn=config.ldif" ] || [ ! -d "$CONFIG/cn=config/cn=schema" ]; then
  rm -rf "$CONFIG" "$DATA"
fi
mkdir -p "$CONFIG" "$DATA"
chmod 700 "$DIR"

if [ ! -f "$CONFIG/cn=config.ldif" ]; then
  hash="$(/usr/sbin/slappasswd -s "$ROOT_PASSWORD")"
  {
    cat <<LDIF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $DIR/slapd.pid
olcArgsFile: $DIR/slapd.args
olcLogLevel: none

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

LDIF
    for schema in "${SCHEMAS[@]}"; do printf 'include: file:///etc/ldap/schema/%s.ldif\n\n' "$schema"; done
    cat <<LDIF
dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 500

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth manage by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $SUFFIX
olcRootDN: $ROOT_DN
olcRootPW: $hash
olcDbDirectory: $DATA
olcDbMaxSize: 268435456
olcDbIndex: objectClass eq
olcDbIndex: entryUUID eq
olcDbIndex: telephoneNumber,mobile,homePhone eq,sub
olcAccess: {0}to * by * read

LDIF
  } > "$DIR/config.ldif"
  "$SLAPADD" -n 0 -F "$CONFIG" -l "$DIR/config.ldif" >/dev/null 2>"$DIR/slapadd.log" ||
    { say "could not make the configuration:" >&2; cat "$DIR/slapadd.log" >&2; exit 1; }
fi

# The suffix entry, once: tests add and remove their own entries below it.
if [ -z "$(ls -A "$DATA")" ]; then
  cat > "$DIR/base.ldif" <<LDIF
dn: $SUFFIX
objectClass: dcObject
objectClass: organization
dc: callcard
o: callcard

LDIF
  "$SLAPADD" -F "$CONFIG" -b "$SUFFIX" -l "$DIR/base.ldif" >/dev/null 2>"$DIR/slapadd.log" ||
    { say "could not add $SUFFIX:" >&2; cat "$DIR/slapadd.log" >&2; exit 1; }
fi

# A pid file of an instance that is gone would not stop slapd, but a live one means it is starting.
if [ -f "$DIR/slapd.pid" ] && kill -0 "$(cat "$DIR/slapd.pid")" 2>/dev/null; then
  say "an instance (pid $(cat "$DIR/slapd.pid")) is running but does not answer yet; waiting"
else
  # slapd detaches itself; as root without -u it keeps running as root, which reads $DIR.
  "$SLAPD" -h "$URL" -F "$CONFIG" </dev/null >>"$DIR/slapd.log" 2>&1 ||
    { say "slapd did not start:" >&2; tail -n 20 "$DIR/slapd.log" >&2 || true; exit 1; }
fi

for _ in $(seq 1 100); do
  status="$(probe)"
  if [ "$status" = 0 ]; then
    say "ready at $URL (pid $(cat "$DIR/slapd.pid" 2>/dev/null || echo '?'); $SUFFIX, bind $ROOT_DN / $ROOT_PASSWORD; files in $DIR)"
    exit 0
  fi
  sleep 0.2
done
say "did not answer on $URL (last ldapsearch exit: $status); its log, $DIR/slapd.log:" >&2
tail -n 20 "$DIR/slapd.log" >&2 || true
exit 1
