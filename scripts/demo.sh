#!/usr/bin/env bash
# The demo: sets everything up, then runs a local mosquitto, komposterd and a
# simulated fleet of validators and onboard passenger counters, and prints
# the day's ridership and boardings, and writes and checks the day's
# open-data package.
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
KP_BIN=$PWD/build
KP_RUN=$PWD/demo
demo=$KP_RUN
. scripts/lib.sh

rm -rf "$demo"
kp_configure 18830 18080
http_port=$kp_http_port

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
package=$demo/open/$today
echo "== today's open-data package (a preview: the day is still going), checked with the server's public key"
mkdir -p "$demo/open"
komposter export --date "$today" --out "$package"
komposter verify "$package" --public-key "$(cat "$demo/keys/server.key.pub")"
echo "== metrics (excerpt)"
curl -fsS "http://127.0.0.1:$http_port/metrics" | grep -E '^komposter_(frames|taps)_[a-z_]+_total |^komposter_commit_group_frames_(sum|count)'

cat <<MSG

Where to look:
  database      $demo/data        (mdb_stat -a $demo/data; build/tools/komposter -c $demo/komposterd.ini dump | head)
  daemon log    $demo/komposterd.log
  metrics       http://127.0.0.1:$http_port/metrics   (while running: KEEP=1 scripts/demo.sh)
  fleet         $demo/fleet  (each device's key and outbox)
  open data     $package   checked by anyone with the stock tools, in that folder:
                  sha256sum -c SHA256SUMS
                  minisign -Vm datapackage.json -P $(sed -n 2p "$package/minisign.pub")
MSG
