#!/usr/bin/env bash
# Usage: bench/verify-overhead.sh
#
# What the signature gate adds to a cold mirror. Seeds one local CNCF
# Distribution registry with BENCH_IMAGES two-platform images signed keyless
# (classic cosign layout, offline Sigstore and its trusted root), then runs
# `sync` into a fresh, empty Distribution registry BENCH_RUNS times with
# verification on and BENCH_RUNS times with --verify=false, alternating.
# Prints every run's wall time, the medians, the overhead of verification
# in percent (target: under 20%), and the source requests of each mode.
#
#   BENCH_IMAGES=20 BENCH_RUNS=5 BENCH_BASE_MB=4 BENCH_OWN_MB=2 BENCH_CONCURRENCY=8
#
# Not part of `make test`. Everything runs on 127.0.0.1.
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

images=${BENCH_IMAGES:-20}
runs=${BENCH_RUNS:-5}
base_mb=${BENCH_BASE_MB:-4}
own_mb=${BENCH_OWN_MB:-2}
conc=${BENCH_CONCURRENCY:-8}
((images % 2 == 0)) || die "BENCH_IMAGES must be even (repositories of two tags)"

bench_setup

src=$(start_registry src)
log "seeding $src: $images images (2 platforms, ${base_mb} MB shared base + ${own_mb} MB own layer per platform), signed keyless"
(cd "$root" && go run ./bench/seed -registry "$src" -repos "$((images / 2))" -tags 2 -base-mb "$base_mb" -own-mb "$own_mb") >"$work/images.txt"
(cd "$root" && go run ./bench/sign -trusted-root "$work/trusted_root.json") <"$work/images.txt"
bytes=$(du -sb "$work/src/data" | cut -f1)
log "seeded $(wc -l <"$work/images.txt") images, $((bytes / 1000000)) MB stored"

# sync_once MODE RUN — one cold sync into a fresh registry; prints seconds
# and source requests.
sync_once() {
	local mode=$1 n=$2 dst t0 t1 r0 r1 args=()
	dst=$(start_registry "dst-$mode-$n")
	mkdir -p "$work/bucket-$mode-$n"
	if [[ $mode == on ]]; then
		args=(--trusted-root "$work/trusted_root.json")
	else
		args=(--verify=false)
	fi
	r0=$(requests src)
	t0=$(date +%s.%N)
	"$bin" sync --from file --images-file "$work/images.txt" --allowed-source "$src/bench" \
		--target "$dst/mirror" --bucket "file://$work/bucket-$mode-$n" --image-map-path map.yaml \
		--concurrency "$conc" "${args[@]}" >"$work/sync-$mode-$n.out" 2>&1 ||
		{ tail -n 20 "$work/sync-$mode-$n.out" >&2; die "sync ($mode, run $n) failed"; }
	t1=$(date +%s.%N)
	r1=$(requests src)
	grep -q "^sync: .* $images copied" "$work/sync-$mode-$n.out" ||
		{ tail -n 5 "$work/sync-$mode-$n.out" >&2; die "sync ($mode, run $n) did not copy $images images"; }
	stop_last_registry "dst-$mode-$n"
	printf '%s %s\n' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" "$((r1 - r0))"
}

: >"$work/results"
for ((n = 1; n <= runs; n++)); do
	# Alternate which mode goes first, so warm-up effects fall on both.
	order=(on off)
	((n % 2 == 0)) && order=(off on)
	for mode in "${order[@]}"; do
		read -r secs reqs < <(sync_once "$mode" "$n")
		printf '%s %s %s %s\n' "$mode" "$n" "$secs" "$reqs" >>"$work/results"
		log "run $n, verification $mode: ${secs}s, $reqs source requests"
	done
done

printf '\n%d images, %d MB of blobs in the source; concurrency %s; %d cold runs per mode\n\n' "$images" "$((bytes / 1000000))" "$conc" "$runs"
awk '
	{ t[$1] = t[$1] " " $3; r[$1] = $4 }
	function median(s,   a, n, i, j, x) {
		n = split(s, a, " ")
		for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > x + 0; j--) a[j + 1] = a[j]; a[j + 1] = x }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END {
		on = median(t["on"]); off = median(t["off"])
		printf "%-14s %s\n", "verify on:", t["on"]
		printf "%-14s %s\n", "verify off:", t["off"]
		printf "\nmedian: verify on %.3fs, off %.3fs; overhead %.1f%% (target < 20%%)\n", on, off, (on - off) / off * 100
		printf "source requests per run: verify on %d, off %d\n", r["on"], r["off"]
	}' "$work/results"
