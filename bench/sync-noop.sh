#!/usr/bin/env bash
# Usage: bench/sync-noop.sh
#
# The no-op sync target: BENCH_IMAGES needed images (default 200), already
# mirrored and mapped, checked by `kubectl-sdr_mirror sync` with
# verification off and on, against `regsync once` on the same pairs. Both
# registries are CNCF Distribution on 127.0.0.1; the map is in a file://
# bucket. Prints the median wall time of BENCH_RUNS runs (default 7) of
# each and sync's ratio to regsync.
#
#   BENCH_IMAGES=200 BENCH_RUNS=7 BENCH_CONCURRENCY=8
#
# Not part of `make test`.
set -euo pipefail

# shellcheck source=../hack/lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/../hack/lib.sh"
root=$(cd "$HACK_DIR/.." && pwd)

images=${BENCH_IMAGES:-200}
runs=${BENCH_RUNS:-7}
conc=${BENCH_CONCURRENCY:-8}
tags=5
((images % tags == 0)) || die "BENCH_IMAGES must be a multiple of $tags"

work=$(mktemp -d)
cleanup() {
	local p
	if [[ -f $work/pids ]]; then
		while read -r p; do stop_process "$p" >/dev/null 2>&1 || true; done <"$work/pids"
	fi
	rm -rf "$work"
}
trap cleanup EXIT

SDR_MIRROR_REGISTRY_BIN=$("$HACK_DIR/install-registry.sh")
export SDR_MIRROR_REGISTRY_BIN
peers=$("$root/bench/install-peers.sh")
export PATH="$peers:$PATH"
need regsync
(cd "$root" && go build -trimpath -o "$work/kubectl-sdr_mirror" ./cmd/kubectl-sdr-mirror)

start_registry() {
	local out
	out=$("$HACK_DIR/registry-up.sh" "$work/$1")
	printf '%s\n' "${out#* }" >>"$work/pids"
	printf '%s\n' "${out% *}"
}

src=$(start_registry src)
dst=$(start_registry dst)
log "seeding $src with $images small two-platform images"
(cd "$root" && go run ./bench/seed -registry "$src" -repos $((images / tags)) -tags "$tags" -base-mb 1 -own-mb 1 \
	-trusted-root "$work/trusted_root.json") >"$work/images.txt"
mkdir -p "$work/bucket"

sync=("$work/kubectl-sdr_mirror" sync --from file --images-file "$work/images.txt"
	--bucket "file://$work/bucket" --image-map-path sdr/image-map.yaml --target "$dst/atlan"
	--allowed-source "$src/bench" --concurrency "$conc")
log "mirroring and mapping them with sync"
"${sync[@]}" --verify=false >"$work/cold.out" 2>&1 || { tail -n 20 "$work/cold.out" >&2; die "the first sync failed"; }
grep -q "^sync: 0 verified, $images copied; wrote the image map: $((images / tags)) added" "$work/cold.out" ||
	{ tail -n 3 "$work/cold.out" >&2; die "the first sync did not copy and map every image"; }

# regsync: the same source -> destination pairs.
{
	printf 'version: 1\ncreds:\n  - registry: %s\n    tls: disabled\n  - registry: %s\n    tls: disabled\n' "$src" "$dst"
	printf 'defaults:\n  parallel: %s\nsync:\n' "$conc"
	while read -r ref; do printf '  - source: %s\n    target: %s/atlan/%s\n    type: image\n' "$ref" "$dst" "${ref##*/}"; done <"$work/images.txt"
} >"$work/regsync.yaml"
mkdir -p "$work/home-regsync"
regsync=(env HOME="$work/home-regsync" regsync once -c "$work/regsync.yaml")

# median NAME CMD... — run CMD $runs times (after one warm-up run), check
# each is a no-op, print the median wall time in seconds.
median() {
	local label=$1 i t0 t1 times=()
	shift
	"$@" >"$work/out" 2>&1 || { tail -n 20 "$work/out" >&2; die "$label failed"; }
	for ((i = 0; i < runs; i++)); do
		t0=$(date +%s.%N)
		"$@" >"$work/out" 2>&1 || { tail -n 20 "$work/out" >&2; die "$label failed"; }
		t1=$(date +%s.%N)
		times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
	done
	if [[ $label == sync* ]] && ! grep -q '^sync: 0 verified, 0 copied; image map unchanged$' "$work/out"; then
		tail -n 3 "$work/out" >&2
		die "$label was not a no-op"
	fi
	log "$label: ${times[*]}"
	printf '%s\n' "${times[@]}" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

off=$(median "sync --verify=false" "${sync[@]}" --verify=false)
on=$(median "sync (verification on)" "${sync[@]}" --trusted-root "$work/trusted_root.json")
rs=$(median "regsync once" "${regsync[@]}")

printf '\nno-op over %d images already mirrored and mapped; median of %d runs; concurrency %s\n\n' "$images" "$runs" "$conc"
printf '%-28s %8s %8s\n' "COMMAND" "SECONDS" "RATIO"
awk -v off="$off" -v on="$on" -v rs="$rs" 'BEGIN {
	printf "%-28s %8.3f %8.2f\n", "sync --verify=false", off, off / rs
	printf "%-28s %8.3f %8.2f\n", "sync (verification on)", on, on / rs
	printf "%-28s %8.3f %8.2f\n", "regsync once", rs, 1
	printf "\ntarget: under 2 s, and at most 0.5x regsync once\n"
}'
