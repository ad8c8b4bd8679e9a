#!/usr/bin/env bash
# Usage: hack/kube-up.sh DIR
#
# Starts a throw-away Kubernetes control plane (etcd + kube-apiserver, no
# controllers, no nodes) on 127.0.0.1 with free ports. DIR receives:
#   kubeconfig          admin (system:masters) kubeconfig, CA embedded, mode 600
#   tokens.csv          --token-auth-file: "admin" (system:masters) and "tester"
#                       (no groups, for RBAC tests), mode 600
#   ca.crt, apiserver.crt/.key, sa.key/.pub   self-signed certs and SA keys
#   etcd.log, kube-apiserver.log
#   pids, etcd-data-dir  used by hack/kube-down.sh
# etcd keeps its data under /dev/shm. Prints the kubeconfig path on stdout:
#
#   export KUBECONFIG=$(hack/kube-up.sh "$tmp")   ...   hack/kube-down.sh "$tmp"
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# == 1)) || die "usage: ${0##*/} DIR"
mkdir -p "$1"
dir=$(cd "$1" && pwd)

READY_TIMEOUT=60

bin=$("$HACK_DIR/install-kube.sh")
need etcd openssl curl setsid base64 awk
apiserver="$bin/kube-apiserver"
kubectl="$bin/kubectl"

if [[ -f $dir/pids ]]; then
	while read -r name pid; do
		if proc_alive "$name" "$pid"; then
			die "a cluster is already running from $dir (run hack/kube-down.sh $dir first)"
		fi
	done <"$dir/pids"
	"$HACK_DIR/kube-down.sh" "$dir"
fi

# On failure or interrupt stop what this run started (our own children, so
# their PIDs cannot have been recycled) and let kube-down.sh remove the rest.
ok=
own_pids=()
cleanup() {
	[[ -z $ok ]] || return 0
	local pid
	for pid in "${own_pids[@]}"; do
		stop_process "$pid" || true
		wait "$pid" 2>/dev/null || true
	done
	"$HACK_DIR/kube-down.sh" "$dir" || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- certificates, keys, tokens -------------------------------------------
umask 077
cat >"$dir/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = sdr-mirror test
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
authorityKeyIdentifier = keyid
EOF
ossl() { run_logged "$dir/openssl.log" openssl "$@" || die "openssl $1 failed"; }
: >"$dir/openssl.log"
ossl req -x509 -config "$dir/openssl.cnf" -extensions ca_ext -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	-nodes -keyout "$dir/ca.key" -out "$dir/ca.crt" -days 3650 -subj "/CN=sdr-mirror test CA"
ossl req -new -config "$dir/openssl.cnf" -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	-nodes -keyout "$dir/apiserver.key" -out "$dir/apiserver.csr" -subj "/CN=kube-apiserver"
ossl x509 -req -in "$dir/apiserver.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
	-set_serial "0x$(openssl rand -hex 16)" -days 3650 \
	-extfile "$dir/openssl.cnf" -extensions server_ext -out "$dir/apiserver.crt"
ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/sa.key"
ossl pkey -in "$dir/sa.key" -pubout -out "$dir/sa.pub"
rm -f "$dir/apiserver.csr" "$dir/openssl.log"
chmod 644 "$dir/ca.crt" "$dir/apiserver.crt" "$dir/sa.pub"

admin_token=$(openssl rand -hex 32)
tester_token=$(openssl rand -hex 32)
printf '%s,admin,admin,"system:masters"\n%s,tester,tester\n' "$admin_token" "$tester_token" >"$dir/tokens.csv"
umask 022

# --- processes --------------------------------------------------------------
: >"$dir/pids"
rm -f "$dir/etcd-data-dir"

# start NAME LOG CMD... — start CMD detached (own session, no tty, output to
# LOG) and record it in DIR/pids. Sets started_pid.
started_pid=
start() {
	local name=$1 logfile=$2
	shift 2
	local -a unset_env=()
	local v
	for v in "${!ETCD_@}"; do unset_env+=(-u "$v"); done
	# Not a process group leader here, so setsid execs in place: $! is CMD's PID.
	env "${unset_env[@]}" setsid "$@" </dev/null >>"$logfile" 2>&1 &
	started_pid=$!
	own_pids+=("$started_pid")
	printf '%s %s\n' "$name" "$started_pid" >>"$dir/pids"
}

# wait_for NAME PID LOG TIMEOUT CHECK... — poll CHECK until it succeeds.
# Returns 2 if the process died of a port clash (caller retries), 1 otherwise.
wait_for() {
	local name=$1 pid=$2 logfile=$3 timeout=$4 deadline
	shift 4
	deadline=$((SECONDS + timeout))
	while ((SECONDS < deadline)); do
		"$@" && return 0
		if ! proc_running "$pid"; then
			grep -q 'address already in use' "$logfile" 2>/dev/null && return 2
			log "$name exited during start-up; last lines of $logfile:"
			tail -n 30 "$logfile" >&2
			return 1
		fi
		sleep 0.2
	done
	log "$name not ready after ${timeout}s; last lines of $logfile:"
	tail -n 30 "$logfile" >&2
	return 1
}

stop_pid() { # PID — between retries of the same start-up
	stop_process "$1" || true
	wait "$1" 2>/dev/null || true
}

etcd_healthy() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$client_port/health" 2>/dev/null; }
apiserver_ready() {
	[[ $(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$dir/ca.crt" \
		"https://127.0.0.1:$secure_port/readyz" 2>/dev/null) == 200 ]]
}

data_dir=$(mktemp -d /dev/shm/sdr-mirror-etcd.XXXXXXXX)
printf '%s\n' "$data_dir" >"$dir/etcd-data-dir"
: >"$dir/etcd.log"
for attempt in 1 2 3; do
	client_port=$(free_port)
	peer_port=$(free_port)
	[[ $peer_port != "$client_port" ]] || continue
	rm -rf "${data_dir:?}"/*
	start etcd "$dir/etcd.log" etcd \
		--name sdr-mirror \
		--data-dir "$data_dir" \
		--listen-client-urls "http://127.0.0.1:$client_port" \
		--advertise-client-urls "http://127.0.0.1:$client_port" \
		--listen-peer-urls "http://127.0.0.1:$peer_port" \
		--initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
		--initial-cluster "sdr-mirror=http://127.0.0.1:$peer_port" \
		--initial-cluster-state new \
		--logger zap --log-outputs stderr
	etcd_pid=$started_pid
	rc=0
	wait_for etcd "$etcd_pid" "$dir/etcd.log" 30 etcd_healthy || rc=$?
	((rc == 0)) && break
	((rc == 2 && attempt < 3)) || die "etcd failed to start (log: $dir/etcd.log)"
	stop_pid "$etcd_pid"
	log "etcd port clash, retrying"
done

: >"$dir/kube-apiserver.log"
for attempt in 1 2 3; do
	secure_port=$(free_port)
	start kube-apiserver "$dir/kube-apiserver.log" "$apiserver" \
		--bind-address 127.0.0.1 \
		--advertise-address 127.0.0.1 \
		--secure-port "$secure_port" \
		--tls-cert-file "$dir/apiserver.crt" \
		--tls-private-key-file "$dir/apiserver.key" \
		--etcd-servers "http://127.0.0.1:$client_port" \
		--service-account-key-file "$dir/sa.pub" \
		--service-account-signing-key-file "$dir/sa.key" \
		--service-account-issuer https://kubernetes.default.svc.cluster.local \
		--service-cluster-ip-range 10.0.0.0/24 \
		--token-auth-file "$dir/tokens.csv" \
		--authorization-mode RBAC \
		--disable-admission-plugins ServiceAccount \
		--endpoint-reconciler-type none \
		--profiling=false
	apiserver_pid=$started_pid
	rc=0
	wait_for kube-apiserver "$apiserver_pid" "$dir/kube-apiserver.log" "$READY_TIMEOUT" apiserver_ready || rc=$?
	((rc == 0)) && break
	((rc == 2 && attempt < 3)) || die "kube-apiserver failed to become ready (log: $dir/kube-apiserver.log)"
	stop_pid "$apiserver_pid"
	log "kube-apiserver port clash, retrying"
done

# --- kubeconfig -------------------------------------------------------------
umask 077
cat >"$dir/kubeconfig.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: sdr-mirror
  cluster:
    server: https://127.0.0.1:$secure_port
    certificate-authority-data: $(base64 -w0 <"$dir/ca.crt")
users:
- name: admin
  user:
    token: $admin_token
contexts:
- name: sdr-mirror
  context:
    cluster: sdr-mirror
    user: admin
    namespace: default
current-context: sdr-mirror
EOF
mv "$dir/kubeconfig.tmp" "$dir/kubeconfig"
umask 022

# The "default" namespace is created by a post-start controller; wait for it.
default_ns() { "$kubectl" --kubeconfig "$dir/kubeconfig" get namespace default >/dev/null 2>&1; }
wait_for kube-apiserver "$apiserver_pid" "$dir/kube-apiserver.log" 30 default_ns ||
	die "namespace 'default' did not appear (log: $dir/kube-apiserver.log)"

ok=1
printf '%s\n' "$dir/kubeconfig"
