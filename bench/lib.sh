#!/usr/bin/env bash
# Shared set-up of the bench scripts; source it after `set -euo pipefail`.
# It sources hack/lib.sh, sets $root, and provides:
#   bench_setup      a work directory $work (removed on exit, with every
#                    registry started), Distribution installed, the binary
#                    built as $bin
#   bench_peers      crane, regsync and skopeo on PATH
#   start_registry   start a Distribution registry, print its address
#   stop_last_registry NAME
#                    stop the registry started last, as NAME, and drop its
#                    storage
#   requests NAME    API requests in registry NAME's access log so far
#   reference_set    the reference set's shape from BENCH_* (repos, tags,
#                    base_mb, own_mb, conc)

# shellcheck source=../hack/lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/../hack/lib.sh"
root=$(cd "$HACK_DIR/.." && pwd)

# Registry PIDs go to a file: start_registry runs in a command substitution,
# a subshell whose variables are lost.
bench_cleanup() {
	local p
	if [[ -f $work/pids ]]; then
		while read -r p; do stop_process "$p" >/dev/null 2>&1 || true; done <"$work/pids"
	fi
	rm -rf "$work"
}

bench_setup() {
	work=$(mktemp -d)
	trap bench_cleanup EXIT
	SDR_MIRROR_REGISTRY_BIN=$("$HACK_DIR/install-registry.sh")
	export SDR_MIRROR_REGISTRY_BIN
	bin=$work/kubectl-sdr_mirror
	(cd "$root" && go build -trimpath -o "$bin" ./cmd/kubectl-sdr-mirror)
}

bench_peers() {
	local peers
	peers=$("$root/bench/install-peers.sh")
	export PATH="$peers:$PATH"
}

# start_registry NAME — start a registry logging to $work/NAME, print its
# address.
start_registry() {
	local out
	out=$("$HACK_DIR/registry-up.sh" "$work/$1")
	printf '%s\n' "${out#* }" >>"$work/pids"
	printf '%s\n' "${out% *}"
}

# requests NAME — API requests in registry NAME's access log so far.
requests() {
	grep -cE '"(GET|HEAD|PUT|POST|PATCH|DELETE) /v2/' "$work/$1/registry.log" || true
}

# stop_last_registry NAME — stop the registry started last, as NAME, and
# drop its storage.
stop_last_registry() {
	stop_process "$(tail -n 1 "$work/pids")" >/dev/null 2>&1 || true
	rm -rf "${work:?}/$1"
}

# reference_set — the reference set's shape: BENCH_REPOS repositories x
# BENCH_TAGS two-platform images, BENCH_BASE_MB of shared base and
# BENCH_OWN_MB of own layer per platform, copied BENCH_CONCURRENCY at once.
# shellcheck disable=SC2034 # read by the scripts that source this file
reference_set() {
	repos=${BENCH_REPOS:-8}
	tags=${BENCH_TAGS:-3}
	base_mb=${BENCH_BASE_MB:-40}
	own_mb=${BENCH_OWN_MB:-4}
	conc=${BENCH_CONCURRENCY:-8}
}
