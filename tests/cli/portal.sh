# SPDX-License-Identifier: MIT
# portal.sh - servers for the portal and fetch tests (t6xxx), sourced after
# lib.sh. Everything listens on 127.0.0.1 only and stops when the test exits.
#
#   portal_cert                 makes $TEST_DIR/tls/{cert,key}.pem (CA = cert)
#   portal_nginx ROOT           nginx on ROOT; sets NGINX_HTTP, NGINX_HTTPS (URLs)
#   portal_fault ROOT [TLS]     the fault server (tests/fault-server.py); sets
#                               FAULT (URL); with TLS, FAULT_TLS too
#   fault_log                   the fault server's request log
# Proxies from the environment are cleared: loopback is never proxied.

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1

_portal_pids=
_portal_cleanup() {
	for p in $_portal_pids; do kill "$p" 2>/dev/null; done
	for p in $_portal_pids; do wait "$p" 2>/dev/null; done
	cd / && rm -rf "$TEST_DIR"
}
trap _portal_cleanup EXIT

# Waits (bounded) until FILE exists; 1 on timeout.
_portal_wait_file() {
	for _ in $(seq 1 100); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

_portal_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

portal_cert() {
	mkdir -p "$TEST_DIR/tls"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
		-keyout "$TEST_DIR/tls/key.pem" -out "$TEST_DIR/tls/cert.pem" >/dev/null 2>&1
}

portal_nginx() {
	command -v nginx >/dev/null || skip_all "nginx is not installed (apt-get install nginx)"
	[ -f "$TEST_DIR/tls/cert.pem" ] || portal_cert
	local pre=$TEST_DIR/nginx port tport
	mkdir -p "$pre/tmp"
	for _ in 1 2 3 4 5; do
		port=$(_portal_free_port)
		tport=$(_portal_free_port)
		sed -e "s|@PREFIX@|$pre|g" -e "s|@PORT@|$port|g" -e "s|@TLSPORT@|$tport|g" \
			-e "s|@ROOT@|$1|g" -e "s|@CERT@|$TEST_DIR/tls/cert.pem|g" \
			-e "s|@KEY@|$TEST_DIR/tls/key.pem|g" \
			"$SRC/tests/nginx/nginx.conf.in" >"$pre/nginx.conf"
		rm -f "$pre/nginx.pid"
		nginx -p "$pre" -e "$pre/error.log" -c "$pre/nginx.conf" 2>>"$pre/error.log" &
		local pid=$!
		if _portal_wait_file "$pre/nginx.pid" && kill -0 "$pid" 2>/dev/null; then
			_portal_pids="$_portal_pids $pid"
			NGINX_HTTP=http://127.0.0.1:$port
			NGINX_HTTPS=https://127.0.0.1:$tport
			return 0
		fi
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	echo "Bail out! nginx does not start:"
	sed 's/^/# /' "$pre/error.log"
	exit 1
}

portal_fault() {
	_fault_n=$((${_fault_n:-0} + 1))
	local root=$1 tls=${2:-} dir=$TEST_DIR/fault$_fault_n
	mkdir -p "$dir"
	: >"$dir/log"
	_fault_log=$dir/log
	python3 "$SRC/tests/fault-server.py" --root "$root" --port-file "$dir/port" \
		--log "$dir/log" --stall 8 --lifetime 300 &
	_portal_pids="$_portal_pids $!"
	_portal_wait_file "$dir/port" || { echo "Bail out! fault server does not start"; exit 1; }
	FAULT=http://127.0.0.1:$(cat "$dir/port")
	if [ -n "$tls" ]; then
		[ -f "$TEST_DIR/tls/cert.pem" ] || portal_cert
		python3 "$SRC/tests/fault-server.py" --root "$root" --port-file "$dir/tport" \
			--log "$dir/log" --cert "$TEST_DIR/tls/cert.pem" --key "$TEST_DIR/tls/key.pem" \
			--http-port "$(cat "$dir/port")" --lifetime 300 &
		_portal_pids="$_portal_pids $!"
		_portal_wait_file "$dir/tport" || { echo "Bail out! TLS fault server does not start"; exit 1; }
		FAULT_TLS=https://127.0.0.1:$(cat "$dir/tport")
	fi
}

fault_log() { cat "$_fault_log"; }

# portal_payloads DIR [SIZE]: a payload directory as `enlighten payload index`
# leaves it: three payloads of SIZE bytes (default 65536) of fixed pseudo-random
# bytes and their (unsigned) catalog.json.
portal_payloads() {
	python3 - "$1" "${2:-65536}" <<'PY'
import hashlib, json, os, random, sys
d, size = sys.argv[1], int(sys.argv[2])
rnd = random.Random(42)
items = [("enlighten-ic-hyperv", "linux", ["hyperv-guest"], "linux/enlighten-ic-hyperv-0.1.0-1.noarch.rpm"),
         ("enlighten-ic-xen", "linux", ["xen-hvm", "xen-pvh", "xen-pv"], "linux/enlighten-ic-xen-0.1.0-1.noarch.rpm"),
         ("enlighten-drivers-hyperv", "windows", ["hyperv-guest"], "windows/enlighten-drivers-hyperv-1.0.0.cab")]
payloads = []
for name, os_, profiles, path in items:
    data = bytes(rnd.getrandbits(8) for _ in range(size))
    os.makedirs(os.path.join(d, os.path.dirname(path)), exist_ok=True)
    with open(os.path.join(d, path), "wb") as f:
        f.write(data)
    payloads.append({"name": name, "version": "0.1.0-1", "os": os_, "profiles": profiles,
                     "arch": "noarch", "path": path, "length": len(data),
                     "sha256": hashlib.sha256(data).hexdigest()})
cat = {"schema": 1, "product": "enlighten", "channel": "stable", "version": 0,
       "issued": "2026-01-01T00:00:00Z", "expires": "2036-01-01T00:00:00Z", "payloads": payloads}
with open(os.path.join(d, "catalog.json"), "w") as f:
    json.dump(cat, f, indent=2)
PY
}

# portal_keys: $TEST_DIR/keys/sec and $TEST_DIR/keys/pub, a fresh key pair.
portal_keys() {
	mkdir -p "$TEST_DIR/keys"
	enlighten payload keygen --out "$TEST_DIR/keys/k" >/dev/null 2>&1 ||
		{ echo "Bail out! enlighten payload keygen failed"; exit 1; }
	mv "$TEST_DIR/keys/k.key" "$TEST_DIR/keys/sec"
	mv "$TEST_DIR/keys/k.pub" "$TEST_DIR/keys/pub"
}
