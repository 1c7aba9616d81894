#!/usr/bin/env bash
# The HTTP benchmark (README "Benchmarks"): komposterd answering
# GET /v1/ridership for one day of a simulated city, against nginx serving
# the same bytes as a static file, on the same machine in the same run.
# Prints both rates (median of interleaved runs) and their ratio; the target
# is komposterd >= 0.8 x nginx.
#   scripts/bench-http.sh
#   DEVICES=100 TAPS=2000 CONNECTIONS=32 DURATION=5 RUNS=3 scripts/bench-http.sh
#   BY=route,hour scripts/bench-http.sh   another query (any subset of route,stop,hour,fare)
# Exit status: 0 measured (whatever the ratio), 1 when something failed.
set -euo pipefail
cd "$(dirname "$0")/.."

DEVICES=${DEVICES:-100}
TAPS=${TAPS:-2000}
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-5}
RUNS=${RUNS:-3}
BY=${BY:-route,stop,hour}

# wrk and nginx are needed by this benchmark only: installed here, not by setup.sh.
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "bench-http: needs wrk and nginx (apt-get install wrk nginx-light) and this is not root" >&2
		exit 1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk nginx-light >/dev/null
fi
if [ -z "${KP_BIN:-}" ]; then
	scripts/setup.sh
	KP_BIN=$PWD/build
fi
KP_RUN=$(mktemp -d /tmp/kp-bench-http.XXXXXX)
chmod 0755 "$KP_RUN" # nginx's worker (nobody, when started as root) reads www/
. scripts/lib.sh

nginx_pid=
stop() {
	[ -n "$nginx_pid" ] && kill -TERM "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
	kp_stop_all
	rm -rf "$KP_RUN"
}
trap stop EXIT

echo "== a simulated day: $DEVICES validators x $TAPS taps" >&2
kp_configure 19830 19080
kp_start_broker 2>"$KP_RUN/mosquitto.log"
kp_enrol_fleet "$DEVICES" 0
kp_start_daemon
"$KP_BIN/validators/validator-sim" run --state "$KP_RUN/fleet" --broker "tcp://127.0.0.1:$kp_mqtt_port" \
	--server-pub "$KP_RUN/keys/server.key.pub" --taps-per-device "$TAPS" --quiet >/dev/null
token=$(komposter token add --scope read --name bench-http)
today=$(komposter stats --json | sed -n 's/^[[:space:]]*"to":[[:space:]]*"\([0-9-]*\)".*/\1/p')
path="/v1/ridership"
query="from=$today&to=$today&by=$BY"

# nginx serves the daemon's own answer as a file, at the same path.
mkdir -p -m 0755 "$KP_RUN/www" "$KP_RUN/www/v1" "$KP_RUN/nginx"
curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$kp_http_port$path?$query" >"$KP_RUN/www$path"
nginx_port=$(kp_free_port 19180)
cat >"$KP_RUN/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $KP_RUN/nginx/nginx.pid;
error_log $KP_RUN/nginx/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $KP_RUN/nginx;
	proxy_temp_path $KP_RUN/nginx;
	fastcgi_temp_path $KP_RUN/nginx;
	uwsgi_temp_path $KP_RUN/nginx;
	scgi_temp_path $KP_RUN/nginx;
	server {
		listen 127.0.0.1:$nginx_port;
		root $KP_RUN/www;
		default_type application/json;
		sendfile on;
		tcp_nopush on;
	}
}
CONF
nginx -c "$KP_RUN/nginx/nginx.conf" -p "$KP_RUN/nginx" &
nginx_pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$nginx_port$path" >/dev/null && break; sleep 0.1; done
cmp -s <(curl -fsS "http://127.0.0.1:$nginx_port$path?$query") "$KP_RUN/www$path" ||
	{ echo "bench-http: nginx does not serve the same bytes" >&2; exit 1; }

# rate URL: requests/s that wrk measured; fails on any error or non-2xx answer.
rate() {
	local out
	out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -H "Authorization: Bearer $token" "$1")
	if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
		echo "bench-http: errors while measuring $1:" >&2
		echo "$out" >&2
		return 1
	fi
	awk '/^Requests\/sec:/ { printf "%d\n", $2 }' <<<"$out"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

bytes=$(wc -c <"$KP_RUN/www$path")
echo "== GET $path?$query ($bytes bytes), wrk 1 thread x $CONNECTIONS connections x ${DURATION}s, $RUNS runs each, interleaved" >&2
k_rates=() n_rates=()
for i in $(seq "$RUNS"); do
	n_rates+=("$(rate "http://127.0.0.1:$nginx_port$path?$query")")
	k_rates+=("$(rate "http://127.0.0.1:$kp_http_port$path?$query")")
	echo "run $i: nginx ${n_rates[-1]} req/s, komposterd ${k_rates[-1]} req/s" >&2
done
k=$(printf '%s\n' "${k_rates[@]}" | median)
n=$(printf '%s\n' "${n_rates[@]}" | median)
awk -v k="$k" -v n="$n" -v b="$bytes" 'BEGIN {
	printf "komposterd %d req/s, nginx %d req/s (%d-byte answer): ratio %.2f (target >= 0.80)\n", k, n, b, k / n }'
