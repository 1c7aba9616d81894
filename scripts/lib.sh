# Shared by scripts/demo.sh and scripts/bench-http.sh: a private mosquitto,
# an enrolled simulated fleet and komposterd, all on free loopback ports,
# everything under one folder ($KP_RUN). Source it after `cd` to the repo.
# Needs: $KP_RUN (the run's folder), $KP_BIN (the build folder).

kp_free_port() { # first port from $1 up that nothing listens on
	local p=$1
	while (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
	echo "$p"
}

komposter() { "$KP_BIN/tools/komposter" -c "$KP_RUN/komposterd.ini" "$@"; }

# Stops what kp_start_broker and kp_start_daemon started (an EXIT trap).
kp_stop_all() {
	[ -n "${kp_daemon_pid:-}" ] && kill -TERM "$kp_daemon_pid" 2>/dev/null && wait "$kp_daemon_pid" 2>/dev/null
	[ -n "${kp_broker_pid:-}" ] && kill -TERM "$kp_broker_pid" 2>/dev/null && wait "$kp_broker_pid" 2>/dev/null
	true
}

# Writes the broker's and the daemon's configuration for free ports and sets
# kp_mqtt_port and kp_http_port.
kp_configure() {
	mkdir -p "$KP_RUN/broker" "$KP_RUN/keys"
	kp_mqtt_port=$(kp_free_port "${1:-18830}")
	kp_http_port=$(kp_free_port "${2:-18080}")
	sed -e "s|@PORT@|$kp_mqtt_port|" -e "s|@DIR@|$KP_RUN/broker|" etc/mosquitto.conf.in >"$KP_RUN/mosquitto.conf"
	cp -r etc/mosquitto.d "$KP_RUN/broker/" # the settings shared with production, included
	sed -e "s|^path = .*|path = $KP_RUN/data|" \
		-e "s|^uri = .*|uri = tcp://127.0.0.1:$kp_mqtt_port|" \
		-e "s|^server_key = .*|server_key = $KP_RUN/keys/server.key|" \
		-e "s|^listen = .*|listen = 127.0.0.1:$kp_http_port|" etc/komposterd.ini >"$KP_RUN/komposterd.ini"
}

kp_start_broker() {
	mosquitto -c "$KP_RUN/mosquitto.conf" &
	kp_broker_pid=$!
}

# kp_enrol_fleet DEVICES APCS: the server key, a simulated fleet, every
# device enrolled.
kp_enrol_fleet() {
	komposter keygen "$KP_RUN/keys/server.key" >/dev/null
	"$KP_BIN/validators/validator-sim" init --state "$KP_RUN/fleet" --devices "$1" --apcs "$2" --quiet
	while read -r id key_id pub vehicle kind; do
		komposter device add --id "$id" --key-id "$key_id" --public-key "$pub" \
			--kind "${kind:-validator}" --operator "Ternopilelectrotrans" --vehicle "$vehicle" >/dev/null
	done <"$KP_RUN/fleet/fleet.txt"
}

# Starts komposterd (its log in $KP_RUN/komposterd.log) and waits until it is ready.
kp_start_daemon() {
	"$KP_BIN/ingest/komposterd" -c "$KP_RUN/komposterd.ini" 2>"$KP_RUN/komposterd.log" &
	kp_daemon_pid=$!
	for _ in $(seq 100); do
		curl -fs "http://127.0.0.1:$kp_http_port/readyz" >/dev/null && return 0
		sleep 0.1
	done
	echo "komposterd did not become ready; its log: $KP_RUN/komposterd.log" >&2
	return 1
}
