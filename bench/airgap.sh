#!/usr/bin/env bash
# Usage: bench/airgap.sh
#
# The air-gap target: the reference set (BENCH_REPOS repositories x
# BENCH_TAGS two-platform images, shared base layers, signed keyless by an
# offline Sigstore) mirrored two ways, side by side, BENCH_RUNS times:
#
#   direct   sync from the source registry into a fresh registry and map
#   air gap  sync --to-bundle into a fresh directory, then
#            sync --from-bundle from it into another fresh registry and map
#
# Verification is on in every command, with the same trusted root. The runs
# alternate which way goes first. Prints each run's times, the medians and
# the ratio of the air gap to direct (target: at most 1.3x), and the bundle
# size against the unique blob bytes of the set (target: within 2%) and the
# sum of its images' sizes. The import must send no request to the source
# registry; the script fails if it does.
#
#   BENCH_REPOS=8 BENCH_TAGS=3 BENCH_BASE_MB=40 BENCH_OWN_MB=4
#   BENCH_RUNS=3 BENCH_CONCURRENCY=8
#
# Not part of `make test`. Everything runs on 127.0.0.1 and is stopped and
# removed on exit.
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

repos=${BENCH_REPOS:-8}
tags=${BENCH_TAGS:-3}
base_mb=${BENCH_BASE_MB:-40}
own_mb=${BENCH_OWN_MB:-4}
runs=${BENCH_RUNS:-3}
conc=${BENCH_CONCURRENCY:-8}
need jq
images=$((repos * tags))

bench_setup

# stop_last_registry NAME — stop the registry started last, as NAME, and
# drop its storage.
stop_last_registry() {
	stop_process "$(tail -n 1 "$work/pids")" >/dev/null 2>&1 || true
	rm -rf "${work:?}/$1"
}

# seconds T0 T1 — the difference of two `date +%s.%N` readings.
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

src=$(start_registry src)
log "seeding $src: $repos repositories x $tags images, 2 platforms, ${base_mb} MB base per platform, ${own_mb} MB own layer per image and platform, signed keyless"
(cd "$root" && go run ./bench/seed -registry "$src" -repos "$repos" -tags "$tags" -base-mb "$base_mb" -own-mb "$own_mb") >"$work/images.txt"
(cd "$root" && go run ./bench/sign -trusted-root "$work/trusted_root.json") <"$work/images.txt"
[[ $(wc -l <"$work/images.txt") -eq $images ]] || die "the seed did not print $images images"
# Every blob the source holds: the images and their signatures, once each.
unique=$(find "$work/src/data" -path '*/blobs/*' -name data -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
log "seeded $images images, $((unique / 1000000)) MB of unique blobs"

common=(--from file --images-file "$work/images.txt" --allowed-source "$src/bench"
	--trusted-root "$work/trusted_root.json" --concurrency "$conc")

# direct N — one cold sync into a fresh registry; prints seconds.
direct() {
	local n=$1 dst t0 t1
	dst=$(start_registry "dst-direct-$n")
	mkdir -p "$work/bucket-direct-$n"
	t0=$(date +%s.%N)
	"$bin" sync "${common[@]}" --target "$dst/mirror" --bucket "file://$work/bucket-direct-$n" \
		--image-map-path map.yaml >"$work/direct-$n.out" 2>&1 ||
		{ tail -n 20 "$work/direct-$n.out" >&2; die "direct sync (run $n) failed"; }
	t1=$(date +%s.%N)
	grep -q "^sync: $images verified, $images copied" "$work/direct-$n.out" ||
		{ tail -n 5 "$work/direct-$n.out" >&2; die "direct sync (run $n) did not verify and copy $images images"; }
	stop_last_registry "dst-direct-$n"
	seconds "$t0" "$t1"
}

# airgap N — export into a fresh directory, import into a fresh registry;
# prints the seconds of each. The last run's bundle is kept for its sizes.
airgap() {
	local n=$1 dst t0 t1 t2 r0 r1
	rm -rf "$work/bundle"
	t0=$(date +%s.%N)
	"$bin" sync --to-bundle "$work/bundle" "${common[@]}" >"$work/export-$n.out" 2>&1 ||
		{ tail -n 20 "$work/export-$n.out" >&2; die "export (run $n) failed"; }
	t1=$(date +%s.%N)
	grep -q "^bundle .*: $images images" "$work/export-$n.out" ||
		{ tail -n 5 "$work/export-$n.out" >&2; die "export (run $n) did not write $images images"; }
	dst=$(start_registry "dst-airgap-$n")
	mkdir -p "$work/bucket-airgap-$n"
	r0=$(requests src)
	t1=$(date +%s.%N) # the registry's start-up is not the import's
	"$bin" sync --from-bundle "$work/bundle" --allowed-source "$src/bench" --trusted-root "$work/trusted_root.json" \
		--concurrency "$conc" --target "$dst/mirror" --bucket "file://$work/bucket-airgap-$n" \
		--image-map-path map.yaml >"$work/import-$n.out" 2>&1 ||
		{ tail -n 20 "$work/import-$n.out" >&2; die "import (run $n) failed"; }
	t2=$(date +%s.%N)
	r1=$(requests src)
	grep -q "^sync: $images verified, $images copied" "$work/import-$n.out" ||
		{ tail -n 5 "$work/import-$n.out" >&2; die "import (run $n) did not verify and copy $images images"; }
	((r1 == r0)) || die "import (run $n) sent $((r1 - r0)) requests to the source registry"
	stop_last_registry "dst-airgap-$n"
	printf '%s %s\n' "$(seconds "$t0" "$t1")" "$(seconds "$t1" "$t2")"
}

: >"$work/results"
for ((n = 1; n <= runs; n++)); do
	order=(direct airgap)
	((n % 2 == 0)) && order=(airgap direct)
	for way in "${order[@]}"; do
		if [[ $way == direct ]]; then
			secs=$(direct "$n")
			printf 'direct %s %s\n' "$n" "$secs" >>"$work/results"
			log "run $n, direct: ${secs}s"
		else
			read -r exp imp < <(airgap "$n")
			printf 'export %s %s\nimport %s %s\n' "$n" "$exp" "$n" "$imp" >>"$work/results"
			log "run $n, air gap: export ${exp}s + import ${imp}s"
		fi
	done
done

# Sizes of the last bundle: every file, its blobs, and the sum of its
# images' sizes as each would be pulled alone (index, manifests, configs,
# layers; signatures not counted).
bundle_bytes=$(find "$work/bundle" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
blob_bytes=$(find "$work/bundle/blobs" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
blob() { printf '%s/bundle/blobs/sha256/%s' "$work" "${1#sha256:}"; }
images_bytes=0
while read -r d; do
	images_bytes=$((images_bytes + $(stat -c %s "$(blob "$d")")))
	while read -r m size; do
		images_bytes=$((images_bytes + size + $(jq '[.config.size] + [.layers[].size] | add' "$(blob "$m")")))
	done < <(jq -r '.manifests[] | "\(.digest) \(.size)"' "$(blob "$d")")
done < <(jq -r '.images[].digest' "$work/bundle/sdr-mirror/bundle.json")

printf '\n%d images in %d repositories, 2 platforms, signed; concurrency %s; %d runs, alternating\n\n' "$images" "$repos" "$conc" "$runs"
awk -v unique="$unique" -v bundle="$bundle_bytes" -v blobs="$blob_bytes" -v sum="$images_bytes" '
	{ t[$1] = t[$1] " " $3; if ($1 != "direct") gap[$2] += $3; if ($2 > runs) runs = $2 }
	function median(s,   a, n, i, j, x) {
		n = split(s, a, " ")
		for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > x + 0; j--) a[j + 1] = a[j]; a[j + 1] = x }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END {
		for (n = 1; n <= runs; n++) t["airgap"] = t["airgap"] " " sprintf("%.3f", gap[n])
		d = median(t["direct"]); g = median(t["airgap"])
		printf "%-24s %s\n", "direct:", t["direct"]
		printf "%-24s %s\n", "export:", t["export"]
		printf "%-24s %s\n", "import:", t["import"]
		printf "%-24s %s\n", "air gap (export+import):", t["airgap"]
		printf "\nmedian: direct %.3fs; air gap %.3fs (export %.3fs, import %.3fs); ratio %.2fx (target <= 1.3x)\n", d, g, median(t["export"]), median(t["import"]), g / d
		mb = 1000000
		printf "bundle: %.1f MB (blobs %.1f MB); unique blobs of the set %.1f MB: %+.2f%% (target within 2%%)\n", bundle / mb, blobs / mb, unique / mb, (bundle - unique) / unique * 100
		printf "sum of the image sizes, each counted alone: %.1f MB; the bundle is %.1f%% of it\n", sum / mb, bundle / sum * 100
	}' "$work/results"
