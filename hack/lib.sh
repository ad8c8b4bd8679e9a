# shellcheck shell=bash disable=SC2034
# Common settings for the hack/ scripts. Source it; do not execute it.
#
# Pinned tool versions, the tool cache outside the repository, locking and
# logging. No variable here is named ETCD_*: etcd reads every such
# environment variable as a flag.

if [[ -n ${SDR_MIRROR_LIB_SOURCED:-} ]]; then
	return 0
fi
SDR_MIRROR_LIB_SOURCED=1

KUBE_VERSION=v1.32.13
HELM3_VERSION=v3.22.0
HELM4_VERSION=v4.3.1
VERSITYGW_VERSION=v1.8.0
FAKE_GCS_VERSION=v1.56.1
AZURITE_VERSION=3.35.0
# CNCF Distribution from Debian bookworm (Distribution 2.8.2).
REGISTRY_DEB_VERSION=2.8.2+ds1-1

# CNCF Distribution v3, built from source: it serves the OCI referrers API,
# which Debian's 2.8 does not.
DISTRIBUTION3_VERSION=v3.1.2

# Published version of the k8s.io/* staging modules matching KUBE_VERSION
# (v1.32.13 -> v0.32.13).
KUBE_STAGING_VERSION="v0.${KUBE_VERSION#v1.}"

SDR_MIRROR_CACHE=${SDR_MIRROR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sdr-mirror}

KUBE_BIN_DIR="$SDR_MIRROR_CACHE/kube/$KUBE_VERSION/bin"
HELM3_BIN_DIR="$SDR_MIRROR_CACHE/helm/$HELM3_VERSION/bin"
HELM4_BIN_DIR="$SDR_MIRROR_CACHE/helm/$HELM4_VERSION/bin"
VERSITYGW_BIN_DIR="$SDR_MIRROR_CACHE/versitygw/$VERSITYGW_VERSION/bin"
FAKE_GCS_BIN_DIR="$SDR_MIRROR_CACHE/fake-gcs-server/$FAKE_GCS_VERSION/bin"
AZURITE_DIR="$SDR_MIRROR_CACHE/azurite/$AZURITE_VERSION"
DISTRIBUTION3_BIN_DIR="$SDR_MIRROR_CACHE/distribution/$DISTRIBUTION3_VERSION/bin"

HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# log MSG... — one line on stderr, prefixed with the script name.
log() {
	printf '%s: %s\n' "${0##*/}" "$*" >&2
}

# die MSG... — log and exit 1.
die() {
	log "error: $*"
	exit 1
}

# need CMD... — fail clearly when a required command is missing.
need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || die "'$c' is required but not on PATH"
	done
}

# lock NAME [TIMEOUT] — take an exclusive flock on $SDR_MIRROR_CACHE/locks/NAME.lock,
# held until the calling process exits. Parallel callers wait (default 30 min,
# a cold Kubernetes build takes several).
lock() {
	local name=$1 timeout=${2:-1800} fd
	need flock
	mkdir -p "$SDR_MIRROR_CACHE/locks"
	exec {fd}>"$SDR_MIRROR_CACHE/locks/$name.lock"
	if ! flock -n "$fd"; then
		log "waiting for another process holding the '$name' lock"
		flock -w "$timeout" "$fd" || die "timed out after ${timeout}s waiting for lock '$name'"
	fi
}

# run_logged LOGFILE CMD... — run CMD with all output to LOGFILE; on failure
# show the tail of the log on stderr and return the command's status.
run_logged() {
	local logfile=$1 rc=0
	shift
	"$@" >>"$logfile" 2>&1 || rc=$?
	if ((rc != 0)); then
		log "command failed (exit $rc): $*"
		log "last lines of $logfile:"
		tail -n 40 "$logfile" >&2
	fi
	return "$rc"
}

# free_port — print a TCP port on 127.0.0.1 that nothing listens on now,
# chosen at random below the usual ephemeral range (callers still retry on
# a lost race).
free_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + RANDOM % 12000))
		if ! port_in_use "$p"; then
			printf '%s\n' "$p"
			return 0
		fi
	done
	die "could not find a free TCP port"
}

# port_in_use PORT — true when some socket listens on PORT (any address).
port_in_use() {
	local hex
	hex=$(printf ':%04X ' "$1")
	# Field 2 is local_address:port in hex, field 4 is the state (0A = LISTEN).
	awk -v h="$hex" 'NR > 1 && $4 == "0A" && index($2 " ", h) { found = 1 } END { exit !found }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# proc_running PID — PID exists and is not a zombie.
proc_running() {
	local state
	[[ -r /proc/$1/stat ]] || return 1
	state=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $state && $state != Z && $state != X ]]
}

# proc_alive NAME PID — PID runs and is the program NAME (argv[0] basename),
# so a recycled PID is never mistaken for one of ours.
proc_alive() {
	local name=$1 pid=$2 argv0=
	proc_running "$pid" || return 1
	IFS= read -r -d '' argv0 <"/proc/$pid/cmdline" 2>/dev/null || return 1
	[[ ${argv0##*/} == "$name" ]]
}

# stop_process PID — SIGTERM, wait up to 20 s, then SIGKILL.
stop_process() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		proc_running "$pid" || return 0
		sleep 0.2
	done
	log "process $pid ignored SIGTERM; killing it"
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 25; i++)); do
		proc_running "$pid" || return 0
		sleep 0.2
	done
	log "warning: process $pid is still running"
	return 1
}

# go_install NAME VERSION BIN_DIR PACKAGE — `go install PACKAGE@VERSION` into
# BIN_DIR unless BIN_DIR/NAME exists; a stamp file records the version.
go_install() {
	local name=$1 version=$2 bin=$3 pkg=$4 build_log
	[[ -x $bin/$name && $(cat "$bin/.version" 2>/dev/null) == "$version" ]] && return 0
	lock "$name-$version"
	[[ -x $bin/$name && $(cat "$bin/.version" 2>/dev/null) == "$version" ]] && return 0
	need go
	mkdir -p "$bin"
	build_log="$bin/../build.log"
	: >"$build_log"
	log "building $name $version (a minute or two; log: $build_log)"
	(cd "$SDR_MIRROR_CACHE" &&
		run_logged "$build_log" env GOWORK=off GOFLAGS=-buildvcs=false GOBIN="$bin" \
			go install -trimpath -ldflags "-s -w" "$pkg@$version") || die "installing $name $version failed"
	printf '%s\n' "$version" >"$bin/.version"
}
