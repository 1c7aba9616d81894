#!/usr/bin/env bash
# Installs the Debian 12 packages komposter needs (only those missing) and
# builds it into ./build; makes the komposter system user the systemd unit
# runs as. Idempotent: run it as often as you like.
#   scripts/setup.sh            install + build (RelWithDebInfo)
#   KP_BUILD_DIR=dir KP_CMAKE_ARGS="-DKP_SANITIZE=ON" scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake pkg-config clang libclang-rt-14-dev
	liburing-dev liblmdb-dev lmdb-utils libsodium-dev libpaho-mqtt-dev
	libcriterion-dev mosquitto mosquitto-clients libhttp-parser-dev
	libcjson-dev libinih-dev libcsv-dev minisign curl ca-certificates openssl
	nodejs chromium systemd
	python3-paho-mqtt python3-nacl python3-lmdb)
# npm comes with NodeSource's nodejs (as on these machines), and is a package of its own
# with Debian's, which conflicts with NodeSource's: asked for only when the command is missing.
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}" >&2
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: packages are missing and this is not root; run as root" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The system user and group etc/komposterd.service runs as: no login, no
# home of its own (the unit's StateDirectory is /var/lib/komposter).
if ! getent group komposter >/dev/null || ! getent passwd komposter >/dev/null; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: the komposter user or group is missing and this is not root; run as root" >&2
		exit 1
	fi
	getent group komposter >/dev/null || groupadd --system komposter
	getent passwd komposter >/dev/null || useradd --system --gid komposter --no-create-home \
		--home-dir /var/lib/komposter --shell /usr/sbin/nologin komposter
	echo "setup: made the system user and group komposter" >&2
fi

# The npm packages, as their lock files pin them: uPlot for the dashboards
# (web/, served by komposterd from web/node_modules/uplot/dist/) and the
# browser driver of tests/e2e/test_dashboard. `npm ci` runs only when
# node_modules is missing or older than its lock.
for dir in web tests/e2e/browser; do
	if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
		echo "setup: npm ci in $dir" >&2
		(cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
	fi
done

build=${KP_BUILD_DIR:-build}
# shellcheck disable=SC2086
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${KP_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j"$(nproc)"
