#!/usr/bin/env bash
# The demo: sets everything up, then runs a local mosquitto, komposterd and a
# simulated fleet of validators and onboard passenger counters, and prints
# the day's ridership and boardings, writes and checks a preview of the
# day's open-data package, and shows the package komposterd published by
# itself for an earlier day (the fleet's offline taps of PAST_DAYS ago),
# downloaded from its /open/ and verified with the stock tools.
#   scripts/demo.sh                 20 devices × 500 taps
#   DEVICES=50 TAPS=2000 APCS=10 EVASION=0.2 CAMERAS=5 scripts/demo.sh
#   KEEP=1 scripts/demo.sh          leave broker and daemon running at the end
# Everything it makes lives under ./demo (deleted at the start of each run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

DEVICES=${DEVICES:-20}
TAPS=${TAPS:-500}
APCS=${APCS:-20}       # vehicles with an onboard passenger counter (at most DEVICES)
EVASION=${EVASION:-0.1} # share of riders who board without tapping
CAMERAS=${CAMERAS:-3}   # stops with a street camera publishing Frigate events (0: none)
PAST_DAYS=${PAST_DAYS:-3} # the closed day the daemon publishes: ended more than publish_grace_s (a day) ago
PAST_TAPS=${PAST_TAPS:-100}
KP_BIN=$PWD/build
KP_RUN=$PWD/demo
demo=$KP_RUN
. scripts/lib.sh

rm -rf "$demo"
kp_configure 18830 18080
http_port=$kp_http_port
# Look for closed dates every 2 s, not every minute, so the past day is published while the demo runs.
sed -i 's/^publish_interval_s = [0-9]*/publish_interval_s = 2/' "$demo/komposterd.ini"

echo "== broker: mosquitto on 127.0.0.1:$kp_mqtt_port"
kp_start_broker
if [ "${KEEP:-0}" != 1 ]; then trap kp_stop_all EXIT; fi

echo "== keys and enrolment: $DEVICES validators, $APCS passenger counters"
kp_enrol_fleet "$DEVICES" "$APCS"
# The street cameras are mapped before they publish: the daemon ignores (and counts in
# /metrics) events of a camera it does not know.
if [ "$CAMERAS" -gt 0 ]; then
	"$KP_BIN/validators/validator-sim" cameras --state "$demo/fleet" --street-cameras "$CAMERAS" >"$demo/cameras.txt"
	while read -r name stop zone_in zone_out; do
		komposter camera add "$name" --stop "$stop" --boarding-zone "$zone_in" \
			--alighting-zone "$zone_out" >/dev/null
	done <"$demo/cameras.txt"
fi

echo "== daemon: komposterd, HTTP on 127.0.0.1:$http_port"
kp_start_daemon
curl -fsS "http://127.0.0.1:$http_port/readyz"

echo "== fleet: $DEVICES validators × $TAPS taps, some going offline and catching up; counters on $APCS vehicles, ${EVASION} of riders not tapping, Frigate cameras at $CAMERAS stops"
"$KP_BIN/validators/validator-sim" run --state "$demo/fleet" --broker "tcp://127.0.0.1:$kp_mqtt_port" \
	--server-pub "$demo/keys/server.key.pub" --taps-per-device "$TAPS" --rate 200 \
	--offline-fraction 0.2 --evasion-rate "$EVASION" --street-cameras "$CAMERAS" \
	--summary "$demo/summary.json"
echo "fleet summary: $(cat "$demo/summary.json")"
# Frigate events have no ACK: the run ends at the broker's PUBACK, so give the daemon's
# Frigate stage a moment to store its last group (its queue empty, twice in a row).
for _ in $(seq 50); do
	curl -fs "http://127.0.0.1:$http_port/metrics" | grep -q '^komposter_frigate_queue_depth 0$' &&
		sleep 0.2 && curl -fs "http://127.0.0.1:$http_port/metrics" | grep -q '^komposter_frigate_queue_depth 0$' &&
		break
	sleep 0.1
done

echo "== today's ridership by route"
komposter stats --by route
echo "== boardings and alightings counted on board (signed APC counts), by route"
komposter stats --counts --by route
echo "== validation rate by route: accepted taps ÷ boardings counted on board (this hour is still going: partial, marked *)"
komposter stats --with-cameras --partial --by route
echo "== validation rate at the stops with a street camera (Frigate events, unsigned)"
komposter stats --with-cameras --partial --by stop
echo "== by hour and fare product"
komposter stats --by hour,fare
echo "== consistency check"
komposter check
today=$(komposter stats --json | sed -n 's/^[[:space:]]*"to":[[:space:]]*"\([0-9-]*\)".*/\1/p')
package=$demo/export/$today
echo "== today's open-data package (a preview: the day is still going), checked with the server's public key"
mkdir -p "$demo/export"
komposter export --date "$today" --out "$package"
komposter verify "$package" --public-key "$(cat "$demo/keys/server.key.pub")"

echo "== a closed day: the same fleet's taps of $PAST_DAYS days ago, uploaded now, as validators back from the depot would"
"$KP_BIN/validators/validator-sim" run --state "$demo/fleet" --broker "tcp://127.0.0.1:$kp_mqtt_port" \
	--server-pub "$demo/keys/server.key.pub" --taps-per-device "$PAST_TAPS" --days-ago "$PAST_DAYS" \
	--evasion-rate "$EVASION" --street-cameras 0 --quiet --summary "$demo/summary-past.json"
open_url=http://127.0.0.1:$http_port/open
echo "== komposterd publishes the closed day by itself, under $open_url/"
# A round may have caught the upload halfway (v1, then v2 with the rest): wait until a round
# (every 2 s) builds nothing more; the builds counter moves only when a date's taps changed.
builds=-1
for _ in $(seq 30); do
	now=$(curl -fs "http://127.0.0.1:$http_port/metrics" | sed -n 's/^komposter_open_data_builds_total //p')
	[ "$now" = "$builds" ] && [ "${now:-0}" != 0 ] && break
	builds=$now
	sleep 2.5
done
latest=
for _ in $(seq 150); do
	# index.json's last "path" is the chain's latest package, DATE/vN/
	latest=$(curl -fs "$open_url/index.json" | sed -n 's/.*"path":[[:space:]]*"\([0-9]\{8\}\/v[0-9]*\/\)".*/\1/p' | tail -n 1)
	[ -n "$latest" ] && break
	sleep 0.2
done
if [ -z "$latest" ]; then
	echo "nothing published after 30 s; the daemon's log: $demo/komposterd.log" >&2
	exit 1
fi
curl -fsS "$open_url/index.json"
echo
published=$demo/published/${latest%/}
echo "== downloaded from $open_url/$latest into $published, checked with the stock tools"
mkdir -p "$published"
curl -fsS -o "$published/SHA256SUMS" "$open_url/${latest}SHA256SUMS"
for f in $(awk '{print $2}' "$published/SHA256SUMS") datapackage.json.minisig; do
	curl -fsS -o "$published/$f" "$open_url/$latest$f"
done
(cd "$published" && sha256sum -c SHA256SUMS && minisign -Vm datapackage.json -p minisign.pub)
echo "== metrics (excerpt)"
curl -fsS "http://127.0.0.1:$http_port/metrics" | grep -E '^komposter_(frames|taps)_[a-z_]+_total |^komposter_commit_group_frames_(sum|count)|^komposter_open_data_[a-z_]+_total'

token=$(komposter token add --scope read --name demo-dashboard)

cat <<MSG

Where to look:
  database      $demo/data        (mdb_stat -a $demo/data; build/tools/komposter -c $demo/komposterd.ini dump | head)
  daemon log    $demo/komposterd.log
  metrics       http://127.0.0.1:$http_port/metrics   (while running: KEEP=1 scripts/demo.sh)
  fleet         $demo/fleet  (each device's key and outbox)
  dashboards    http://127.0.0.1:$http_port/ui/operator.html   (while running: KEEP=1 scripts/demo.sh)
                  operator token (read scope, made for the demo): $token
                http://127.0.0.1:$http_port/ui/public.html     the published open data, no token
  open data     published by komposterd: $demo/data/open, served at $open_url/ (while running):
                  curl $open_url/            the page: every date and version
                  curl $open_url/index.json  the same for programs
                the package of ${latest%%/*}, as anyone downloads it: $published
                today's preview (published once the day is closed): $package
                each checked by anyone with the stock tools, in its folder:
                  sha256sum -c SHA256SUMS
                  minisign -Vm datapackage.json -p minisign.pub
MSG
