#!/usr/bin/env bash
# Usage: hack/registry-up.sh [--htpasswd USER:PASSWORD] [--tls] DIR
#
# Starts a CNCF Distribution registry on 127.0.0.1 (a free port) with its
# storage, configuration and log under DIR, and prints one line on stdout:
#
#   ADDRESS PID
#
# --htpasswd USER:PASSWORD  require basic auth (bcrypt htpasswd file DIR/htpasswd)
# --tls                     serve HTTPS with a self-signed certificate for
#                           127.0.0.1 (DIR/ca.pem is the certificate to trust)
#
# The registry binary is $SDR_MIRROR_REGISTRY_BIN, else docker-registry on
# PATH (hack/install-registry.sh installs it). Stop it with `kill PID`.
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { die "usage: ${0##*/} [--htpasswd USER:PASSWORD] [--tls] DIR"; }

creds="" tls=0
while (($#)); do
	case $1 in
	--htpasswd) (($# >= 2)) || usage; creds=$2; shift 2 ;;
	--tls) tls=1; shift ;;
	-*) usage ;;
	*) break ;;
	esac
done
(($# == 1)) || usage
dir=$1
mkdir -p "$dir/data"
dir=$(cd "$dir" && pwd)

bin=${SDR_MIRROR_REGISTRY_BIN:-$(command -v docker-registry || true)}
[[ -x $bin ]] || die "docker-registry not found: run hack/install-registry.sh or set SDR_MIRROR_REGISTRY_BIN"

scheme=http
tls_conf="" auth_conf=""
if ((tls)); then
	need openssl
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
		-addext "subjectAltName=IP:127.0.0.1" \
		-keyout "$dir/key.pem" -out "$dir/ca.pem" >/dev/null 2>&1 || die "openssl could not make a certificate"
	tls_conf=$(printf '  tls:\n    certificate: %s\n    key: %s\n' "$dir/ca.pem" "$dir/key.pem")
	scheme=https
fi
if [[ -n $creds ]]; then
	need htpasswd
	[[ $creds == *:* ]] || usage
	htpasswd -Bbn "${creds%%:*}" "${creds#*:}" >"$dir/htpasswd" 2>/dev/null || die "htpasswd failed"
	auth_conf=$(printf 'auth:\n  htpasswd:\n    realm: sdr-mirror-test\n    path: %s\n' "$dir/htpasswd")
fi

for ((try = 0; try < 5; try++)); do
	port=$(free_port)
	cat >"$dir/config.yml" <<CONF
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: sdr-mirror-test-secret
$tls_conf
$auth_conf
CONF
	"$bin" serve "$dir/config.yml" >>"$dir/registry.log" 2>&1 </dev/null &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		if ! proc_running "$pid"; then
			break
		fi
		code=$(curl -s -k -o /dev/null -w '%{http_code}' "$scheme://127.0.0.1:$port/v2/" 2>/dev/null || true)
		if [[ $code == 200 || $code == 401 ]]; then
			printf '127.0.0.1:%s %s\n' "$port" "$pid"
			exit 0
		fi
		sleep 0.05
	done
	stop_process "$pid" || true
	log "registry did not start on port $port; retrying (log: $dir/registry.log)"
done
tail -n 20 "$dir/registry.log" >&2
die "could not start the registry"
