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
# alternate which way goes first. Prints each run's wall and client CPU (user +
# system) times, the medians and the ratio of the air gap to direct (target:
# at most 1.3x; on a shared machine the CPU ratio moves less), and the bundle
# size against the unique blob bytes of the set (target: within 2%) and the
# sum of its images' sizes. The import must send no request to the source
# registry; the script fails if it does. Last, one new release is seeded and
# exported against the last import's lock (--since-lock): the incremental
# bundle must hold only the blobs that release adds (target: nothing else).
#
#   BENCH_REPOS=8 BENCH_TAGS=3 BENCH_BASE_MB=40 BENCH_OWN_MB=4
#   BENCH_RUNS=3 BENCH_CONCURRENCY=8
#
# With BENCH_PEERS=1 (the default) the same set also crosses as crane and
# skopeo would carry it, once each, timed and sized beside the bundle:
#   crane   crane pull --format=oci, one layout per image, then crane push
#   skopeo  skopeo copy --all into one shared oci: layout, then out of it
# (neither carries the signatures, so they move less than the bundle does).
#
# Not part of `make test`. Everything runs on 127.0.0.1 and is stopped and
# removed on exit.
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

reference_set
runs=${BENCH_RUNS:-3}
need jq /usr/bin/time
images=$((repos * tags))

bench_setup

# timed OUT CMD... — run CMD under GNU time, its output to OUT; prints its
# wall seconds and CPU seconds (user + system), or fails showing its end.
timed() {
	local out=$1 wall user sys
	shift
	/usr/bin/time -f '%e %U %S' -o "$out.time" "$@" >"$out" 2>&1 || { tail -n 20 "$out" >&2; return 1; }
	read -r wall user sys <"$out.time"
	awk -v w="$wall" -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f %.2f\n", w, u + s }'
}

src=$(start_registry src)
log "seeding $src: $repos repositories x $tags images, 2 platforms, ${base_mb} MB base per platform, ${own_mb} MB own layer per image and platform, signed keyless"
(cd "$root" && go run ./bench/seed -registry "$src" -repos "$repos" -tags "$tags" -base-mb "$base_mb" -own-mb "$own_mb" -next "$work/next.txt") >"$work/images.txt"
next_ref=$(head -n 1 "$work/next.txt")
cat "$work/images.txt" - <<<"$next_ref" | (cd "$root" && go run ./bench/sign -trusted-root "$work/trusted_root.json")
[[ $(wc -l <"$work/images.txt") -eq $images ]] || die "the seed did not print $images images"
# The blobs the next release adds (for the incremental bundle, below): its
# own, listed by the seed, and its signature's, read from the registry.
next_digest=$(sed -n 2p "$work/next.txt" | cut -d' ' -f1)
next_repo=${next_ref#*/}
next_repo=${next_repo%:*}
curl -fsS -o "$work/next-sig.json" -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
	"http://$src/v2/$next_repo/manifests/${next_digest/:/-}.sig" || die "reading the signature of the next release $next_ref"
{
	tail -n +2 "$work/next.txt"
	printf 'sha256:%s %s\n' "$(sha256sum <"$work/next-sig.json" | cut -d' ' -f1)" "$(stat -c %s "$work/next-sig.json")"
	jq -r '[.config] + .layers | .[] | "\(.digest) \(.size)"' "$work/next-sig.json"
} >"$work/next-blobs.txt"
next_bytes=$(awk '{ s += $2 } END { print s + 0 }' "$work/next-blobs.txt")
# Every blob the source holds: the images and their signatures, once each
# (the next release's left out: it is not part of the set).
unique=$(find "$work/src/data" -path '*/blobs/*' -name data -type f -printf '%s\n' | awk -v next_bytes="$next_bytes" '{ s += $1 } END { print s - next_bytes }')
log "seeded $images images, $((unique / 1000000)) MB of unique blobs"

common=(--from file --images-file "$work/images.txt" --allowed-source "$src/bench"
	--trusted-root "$work/trusted_root.json" --concurrency "$conc")

# direct N — one cold sync into a fresh registry; prints its wall and CPU
# seconds.
direct() {
	local n=$1 dst t
	dst=$(start_registry "dst-direct-$n")
	mkdir -p "$work/bucket-direct-$n"
	t=$(timed "$work/direct-$n.out" "$bin" sync "${common[@]}" --target "$dst/mirror" \
		--bucket "file://$work/bucket-direct-$n" --image-map-path map.yaml) || die "direct sync (run $n) failed"
	grep -q "^sync: $images verified, $images copied" "$work/direct-$n.out" ||
		{ tail -n 5 "$work/direct-$n.out" >&2; die "direct sync (run $n) did not verify and copy $images images"; }
	stop_last_registry "dst-direct-$n"
	printf '%s\n' "$t"
}

# airgap N — export into a fresh directory, import into a fresh registry;
# prints the wall and CPU seconds of each. The last run's bundle is kept
# for its sizes.
airgap() {
	local n=$1 dst e i r0 r1
	rm -rf "$work/bundle"
	e=$(timed "$work/export-$n.out" "$bin" sync --to-bundle "$work/bundle" "${common[@]}") || die "export (run $n) failed"
	grep -q "^bundle .*: $images images" "$work/export-$n.out" ||
		{ tail -n 5 "$work/export-$n.out" >&2; die "export (run $n) did not write $images images"; }
	dst=$(start_registry "dst-airgap-$n")
	mkdir -p "$work/bucket-airgap-$n"
	r0=$(requests src)
	i=$(timed "$work/import-$n.out" "$bin" sync --from-bundle "$work/bundle" --allowed-source "$src/bench" \
		--trusted-root "$work/trusted_root.json" --concurrency "$conc" --target "$dst/mirror" \
		--bucket "file://$work/bucket-airgap-$n" --image-map-path map.yaml) || die "import (run $n) failed"
	r1=$(requests src)
	grep -q "^sync: $images verified, $images copied" "$work/import-$n.out" ||
		{ tail -n 5 "$work/import-$n.out" >&2; die "import (run $n) did not verify and copy $images images"; }
	((r1 == r0)) || die "import (run $n) sent $((r1 - r0)) requests to the source registry"
	stop_last_registry "dst-airgap-$n"
	printf '%s %s\n' "$e" "$i"
}

: >"$work/results" # lines: WAY RUN WALL CPU
for ((n = 1; n <= runs; n++)); do
	order=(direct airgap)
	((n % 2 == 0)) && order=(airgap direct)
	for way in "${order[@]}"; do
		if [[ $way == direct ]]; then
			read -r wall cpu < <(direct "$n")
			printf 'direct %s %s %s\n' "$n" "$wall" "$cpu" >>"$work/results"
			log "run $n, direct: ${wall}s (CPU ${cpu}s)"
		else
			read -r ew ec iw ic < <(airgap "$n")
			printf 'export %s %s %s\nimport %s %s %s\n' "$n" "$ew" "$ec" "$n" "$iw" "$ic" >>"$work/results"
			log "run $n, air gap: export ${ew}s (CPU ${ec}s) + import ${iw}s (CPU ${ic}s)"
		fi
	done
done

# The incremental target: after the last import, one new release; the
# bundle exported against that import's lock must hold only the blobs the
# release adds (and its signature's).
{
	cat "$work/images.txt"
	printf '%s\n' "$next_ref"
} >"$work/images-next.txt"
inc_t=$(timed "$work/incremental.out" "$bin" sync --to-bundle "$work/bundle-inc" --from file --images-file "$work/images-next.txt" \
	--since-lock "$work/bucket-airgap-$runs/map.yaml.lock.json" --allowed-source "$src/bench" \
	--trusted-root "$work/trusted_root.json" --concurrency "$conc") || die "incremental export failed"
grep -q "^left out, per the lock: $images needed images already inside" "$work/incremental.out" ||
	{ tail -n 5 "$work/incremental.out" >&2; die "the incremental export did not leave out the $images images inside"; }
find "$work/bundle-inc/blobs/sha256" -type f -printf 'sha256:%f %s\n' | sort >"$work/inc-blobs.txt"
sort "$work/next-blobs.txt" >"$work/next-blobs.sorted"
read -r inc_n inc_bytes < <(awk '{ n++; s += $2 } END { print n + 0, s + 0 }' "$work/inc-blobs.txt")
read -r extra_n extra_bytes < <(join -v 1 "$work/inc-blobs.txt" "$work/next-blobs.sorted" | awk '{ n++; s += $2 } END { print n + 0, s + 0 }')
lacking=$(join -v 2 "$work/inc-blobs.txt" "$work/next-blobs.sorted" | wc -l)
((lacking == 0)) || die "the incremental bundle lacks $lacking of the blobs the new release adds"
next_n=$(wc -l <"$work/next-blobs.txt")

# peer NAME — export and import the set as the peer NAME does; prints its
# export and import wall seconds and the bytes it carried.
peer() {
	local name=$1 dst out e i
	out="$work/$name-layout"
	rm -rf "$out"
	mkdir -p "$out"
	dst=$(start_registry "dst-$name")
	case $name in
	crane)
		# One layout per image: crane pull appends to a layout but
		# crane push of a layout pushes its whole index as one image.
		awk -v out="$out" '{ n = split($0, p, "/"); print "crane pull --insecure --format=oci " $0 " " out "/" NR }' \
			"$work/images.txt" >"$work/crane-pull.cmds"
		# The images of one repository one after another: parallel pushes
		# of one blob into one repository race (DIGEST_INVALID).
		awk -v out="$out" -v dst="$dst" '{ rest = $0; sub(/^[^\/]+\//, "", rest); repo = rest; sub(/:[^:]*$/, "", repo)
			cmds[repo] = cmds[repo] (cmds[repo] ? " && " : "") "crane push --insecure " out "/" NR " " dst "/" rest }
			END { for (r in cmds) print cmds[r] }' "$work/images.txt" >"$work/crane-push.cmds"
		e=$(timed "$work/crane-export.out" xargs -a "$work/crane-pull.cmds" -P "$conc" -I{} sh -c {}) || die "crane export failed"
		i=$(timed "$work/crane-import.out" xargs -a "$work/crane-push.cmds" -P "$conc" -I{} sh -c {}) || die "crane import failed"
		;;
	skopeo)
		awk -v out="$out" '{ tag = $0; sub(/^.*:/, "", tag); name = $0; sub(/^[^\/]+\//, "", name); sub(/:[^:]*$/, "", name); gsub(/\//, "-", name);
			print "skopeo copy --all --src-tls-verify=false docker://" $0 " oci:" out ":" name "-" tag }' "$work/images.txt" >"$work/skopeo-export.cmds"
		awk -v out="$out" -v dst="$dst" '{ tag = $0; sub(/^.*:/, "", tag); name = $0; sub(/^[^\/]+\//, "", name); sub(/:[^:]*$/, "", name); ref = name; gsub(/\//, "-", ref);
			cmds[name] = cmds[name] (cmds[name] ? " && " : "") "skopeo copy --all --dest-tls-verify=false oci:" out ":" ref "-" tag " docker://" dst "/" name ":" tag }
			END { for (r in cmds) print cmds[r] }' "$work/images.txt" >"$work/skopeo-import.cmds"
		# One layout: its index.json is rewritten per image, so one at a time.
		e=$(timed "$work/skopeo-export.out" xargs -a "$work/skopeo-export.cmds" -P 1 -I{} sh -c {}) || die "skopeo export failed"
		i=$(timed "$work/skopeo-import.out" xargs -a "$work/skopeo-import.cmds" -P "$conc" -I{} sh -c {}) || die "skopeo import failed"
		;;
	esac
	stop_last_registry "dst-$name"
	printf '%s %s %s\n' "${e%% *}" "${i%% *}" "$(du -sb "$out" | cut -f1)"
	rm -rf "$out"
}

if [[ ${BENCH_PEERS:-1} == 1 ]]; then
	bench_peers
	for name in crane skopeo; do
		read -r pe pi pbytes < <(peer "$name")
		printf '%s %s %s %s\n' "$name" "$pe" "$pi" "$pbytes" >>"$work/peers"
		log "$name: export ${pe}s + import ${pi}s, $((pbytes / 1000000)) MB carried"
	done
fi

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
	{
		t[$1] = t[$1] " " $3; c[$1] = c[$1] " " $4
		if ($1 != "direct") { gt[$2] += $3; gc[$2] += $4 }
		if ($2 > runs) runs = $2
	}
	function median(s,   a, n, i, j, x) {
		n = split(s, a, " ")
		for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > x + 0; j--) a[j + 1] = a[j]; a[j + 1] = x }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END {
		printf "%-4s %9s %9s %9s %9s %7s   %11s %11s\n", "RUN", "DIRECT_S", "EXPORT_S", "IMPORT_S", "AIRGAP_S", "RATIO", "DIRECT_CPU", "AIRGAP_CPU"
		for (n = 1; n <= runs; n++) {
			split(t["direct"], dw, " "); split(c["direct"], dc, " "); split(t["export"], ew, " "); split(t["import"], iw, " ")
			t["airgap"] = t["airgap"] " " gt[n]; c["airgap"] = c["airgap"] " " gc[n]; ratios = ratios " " gt[n] / dw[n]
			printf "%-4d %9.2f %9.2f %9.2f %9.2f %6.2fx   %11.2f %11.2f\n", n, dw[n], ew[n], iw[n], gt[n], gt[n] / dw[n], dc[n], gc[n]
		}
		d = median(t["direct"]); g = median(t["airgap"])
		printf "\nmedian wall: direct %.2fs; air gap %.2fs (export %.2fs, import %.2fs)\n", d, g, median(t["export"]), median(t["import"])
		printf "air gap / direct, median of the per-run ratios: %.2fx (target <= 1.3x)\n", median(ratios)
		printf "median CPU:  direct %.2fs; air gap %.2fs (export %.2fs, import %.2fs); ratio %.2fx\n", median(c["direct"]), median(c["airgap"]), median(c["export"]), median(c["import"]), median(c["airgap"]) / median(c["direct"])
		mb = 1000000
		printf "bundle: %.1f MB (blobs %.1f MB); unique blobs of the set %.1f MB: %+.2f%% (target within 2%%)\n", bundle / mb, blobs / mb, unique / mb, (bundle - unique) / unique * 100
		printf "sum of the image sizes, each counted alone: %.1f MB; the bundle is %.1f%% of it\n", sum / mb, bundle / sum * 100
	}' "$work/results"
printf '\nincremental, after one new release (%s): %d blobs, %.2f MB in %.2fs; the release adds %d blobs, %.2f MB;\n' \
	"$next_ref" "$inc_n" "$(awk -v b="$inc_bytes" 'BEGIN { print b / 1000000 }')" "${inc_t%% *}" "$next_n" "$(awk -v b="$next_bytes" 'BEGIN { print b / 1000000 }')"
printf 'carried beyond them: %d blobs, %d bytes (target 0)\n' "$extra_n" "$extra_bytes"
if [[ -s $work/peers ]]; then
	printf '\nside by side, one run each (the bundle: the mean of the runs above, signatures included):\n'
	awk -v bundle="$bundle_bytes" -v results="$work/results" '
		BEGIN {
			while ((getline line < results) > 0) { split(line, f, " "); if (f[1] == "export") ex = ex " " f[3]; if (f[1] == "import") im = im " " f[3] }
			n = split(ex, a, " "); for (k = 1; k <= n; k++) es += a[k]; m = split(im, b, " "); for (k = 1; k <= m; k++) is += b[k]
			printf "%-8s %9s %9s %9s %11s\n", "TOOL", "EXPORT_S", "IMPORT_S", "TOTAL_S", "CARRIED_MB"
			printf "%-8s %9.2f %9.2f %9.2f %11.1f\n", "bundle", es / n, is / m, es / n + is / m, bundle / 1000000
		}
		{ printf "%-8s %9.2f %9.2f %9.2f %11.1f\n", $1, $2, $3, $2 + $3, $4 / 1000000 }' "$work/peers"
fi
