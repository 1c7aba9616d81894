#!/usr/bin/env bash
# Description: etc/komposterd.service passes `systemd-analyze verify` (its
# ExecStart pointed at the built daemon), its offline `systemd-analyze
# security` exposure is at most the figure README states, and the user and
# group it runs as exist (scripts/setup.sh makes them).
# Usage: test_systemd_unit.sh UNIT DAEMON MAX_EXPOSURE
# Exit 0 pass, 1 fail, 77 skipped (no systemd-analyze: scripts/setup.sh installs it).
set -euo pipefail
unit=$1 daemon=$2 max=$3

if ! command -v systemd-analyze >/dev/null; then
	echo "SKIP: systemd-analyze is not installed (scripts/setup.sh installs the systemd package)"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# verify wants the unit's binaries to exist: the built daemon stands in for
# /usr/local/bin/komposterd, nothing else of the unit changes.
sed "s#/usr/local/bin/komposterd#$daemon#g" "$unit" >"$tmp/komposterd.service"
if ! systemd-analyze verify "$tmp/komposterd.service" >"$tmp/verify" 2>&1 || [ -s "$tmp/verify" ]; then
	echo "FAIL: systemd-analyze verify complains:"
	cat "$tmp/verify"
	exit 1
fi

systemd-analyze security --offline=true "$unit" >"$tmp/security" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for komposterd.service: \([0-9.]*\).*/\1/p' "$tmp/security")
if [ -z "$score" ]; then
	echo "FAIL: no exposure level in systemd-analyze security's answer:"
	cat "$tmp/security"
	exit 1
fi
if ! awk -v s="$score" -v m="$max" 'BEGIN { exit !(s <= m) }'; then
	echo "FAIL: exposure $score is above $max; what is open:"
	grep '✗' "$tmp/security" || true
	exit 1
fi
echo "systemd-analyze security: exposure $score (at most $max)"

user=$(sed -n 's/^User=//p' "$unit") group=$(sed -n 's/^Group=//p' "$unit")
getent passwd "$user" >/dev/null || { echo "FAIL: the unit's User=$user does not exist (scripts/setup.sh makes it)"; exit 1; }
getent group "$group" >/dev/null || { echo "FAIL: the unit's Group=$group does not exist (scripts/setup.sh makes it)"; exit 1; }
echo "1 passed, 0 failed"
