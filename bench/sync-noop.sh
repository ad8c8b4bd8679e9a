#!/usr/bin/env bash
# Usage: bench/sync-noop.sh
#
# The no-op sync target: BENCH_IMAGES needed images (default 200), already
# mirrored and mapped, checked by `kubectl-sdr_mirror sync` with
# verification off and on, against `regsync once` on the same pairs. Both
# registries are CNCF Distribution on 127.0.0.1; the map is in a file://
# bucket. Prints, per command, the median wall time of BENCH_RUNS rounds
# (default 7; the commands take turns, so changing load on a shared machine
# affects them alike), its ratio to regsync's, the client's CPU time and
# the requests each registry served per run.
#
#   BENCH_IMAGES=200 BENCH_RUNS=7 BENCH_CONCURRENCY=8
#
# Not part of `make test`.
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

images=${BENCH_IMAGES:-200}
runs=${BENCH_RUNS:-7}
conc=${BENCH_CONCURRENCY:-8}
tags=5
((images % tags == 0)) || die "BENCH_IMAGES must be a multiple of $tags"

bench_setup
bench_peers
need regsync

src=$(start_registry src)
dst=$(start_registry dst)
log "seeding $src with $images small two-platform images"
(cd "$root" && go run ./bench/seed -registry "$src" -repos $((images / tags)) -tags "$tags" -base-mb 1 -own-mb 1 \
	-trusted-root "$work/trusted_root.json") >"$work/images.txt"
mkdir -p "$work/bucket"

sync=("$bin" sync --from file --images-file "$work/images.txt"
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

# run LABEL CMD... — run CMD once under GNU time, appending "LABEL WALL CPU
# SRC_REQS DST_REQS" to $work/runs; CPU is the client's user + system time.
run() {
	local label=$1 s0 d0 wall user sys
	shift
	s0=$(requests src)
	d0=$(requests dst)
	/usr/bin/time -f '%e %U %S' -o "$work/time" "$@" >"$work/out" 2>&1 || { tail -n 20 "$work/out" >&2; die "$label failed"; }
	if [[ $label == sync* ]] && ! grep -q '^sync: 0 verified, 0 copied; image map unchanged$' "$work/out"; then
		tail -n 3 "$work/out" >&2
		die "$label was not a no-op"
	fi
	read -r wall user sys <"$work/time"
	printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')" \
		$(($(requests src) - s0)) $(($(requests dst) - d0)) >>"$work/runs"
}

need /usr/bin/time
# One warm-up round, then $runs rounds; each round runs every command once,
# so a machine whose load changes affects them alike.
for ((i = 0; i <= runs; i++)); do
	run "sync --verify=false" "${sync[@]}" --verify=false
	run "sync (verification on)" "${sync[@]}" --trusted-root "$work/trusted_root.json"
	run "regsync once" "${regsync[@]}"
	((i > 0)) || : >"$work/runs" # forget the warm-up round
done

printf '\nno-op over %d images already mirrored and mapped; median of %d runs, interleaved; concurrency %s\n\n' "$images" "$runs" "$conc"
awk -F'\t' '
	function median(list,   n, a, i, j, t) {
		n = split(list, a, " ")
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return a[int((n + 1) / 2)]
	}
	{ if (!($1 in wall)) order[++k] = $1; wall[$1] = wall[$1] " " $2; cpu[$1] = cpu[$1] " " $3; src[$1] = $4; dst[$1] = $5 }
	END {
		rs = median(wall["regsync once"])
		printf "%-24s %8s %7s %8s %9s %9s\n", "COMMAND", "SECONDS", "RATIO", "CPU_S", "SRC_REQS", "DST_REQS"
		for (i = 1; i <= k; i++) {
			c = order[i]; w = median(wall[c])
			printf "%-24s %8.3f %7.2f %8.2f %9d %9d\n", c, w, w / rs, median(cpu[c]), src[c], dst[c]
		}
		printf "\ntarget: under 2 s, and at most 0.5x regsync once\n"
	}' "$work/runs"
