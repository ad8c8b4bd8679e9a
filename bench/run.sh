#!/usr/bin/env bash
# Usage: bench/run.sh
#
# Side-by-side benchmark of the copy engine against crane, regsync and
# skopeo. Seeds one local CNCF Distribution registry with a realistic set
# (BENCH_REPOS repositories x BENCH_TAGS two-platform images, shared base
# layers, deterministic random data), then mirrors it with each tool into a
# fresh registry of its own: once cold, once again as a no-op. Prints each
# run's wall time, the engine's ratio to the fastest peer, peak RSS
# (GNU time), and the requests each registry logged.
#
#   BENCH_REPOS=8 BENCH_TAGS=3 BENCH_BASE_MB=40 BENCH_OWN_MB=4 BENCH_CONCURRENCY=8
#   BENCH_NOOP_RUNS=5 (the no-op time is the median of these runs)
#
# Not part of `make test`. Everything runs on 127.0.0.1.
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

reference_set
noop_runs=${BENCH_NOOP_RUNS:-5}

bench_setup
bench_peers
need skopeo crane regsync /usr/bin/time

src=$(start_registry src)
log "seeding $src: $repos repositories x $tags images, 2 platforms, ${base_mb} MB base per platform, ${own_mb} MB own layer per image and platform"
(cd "$root" && go run ./bench/seed -registry "$src" -repos "$repos" -tags "$tags" -base-mb "$base_mb" -own-mb "$own_mb") >"$work/images.txt"
nimg=$(wc -l <"$work/images.txt")
bytes=$(du -sb "$work/src/data" | cut -f1)
log "seeded $nimg images, $((bytes / 1000000)) MB stored"

results="$work/results.tsv"
: >"$results"

# measure TOOL PHASE DST CMD... — run CMD under GNU time and record the
# row: the cold phase once; the no-op phase $noop_runs times, keeping the
# median time, the highest peak and the requests of one run.
measure() {
	local tool=$1 phase=$2 dst=$3 s0 d0 s1 d1 secs kb runs=1 i times=() peak=0
	shift 3
	[[ $phase == noop ]] && runs=$noop_runs
	s0=$(requests src)
	d0=$(requests "$dst")
	for ((i = 0; i < runs; i++)); do
		if ! /usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/$tool.$phase.out" 2>&1; then
			log "$tool $phase failed:"
			{ grep -iE 'error|fail|denied|refused' "$work/$tool.$phase.out" || tail -n 20 "$work/$tool.$phase.out"; } | head -n 20 >&2
			times=(NaN) peak=0
			break
		fi
		read -r secs kb <"$work/time"
		times+=("$secs")
		((kb > peak)) && peak=$kb
	done
	secs=$(printf '%s\n' "${times[@]}" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	s1=$(requests src)
	d1=$(requests "$dst")
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$phase" "$secs" "$((peak / 1024))" "$(((s1 - s0) / runs))" "$(((d1 - d0) / runs))" >>"$results"
	log "$tool $phase: ${secs}s (median of ${#times[@]}), peak $((peak / 1024)) MB, requests per run source $(((s1 - s0) / runs)) destination $(((d1 - d0) / runs))"
}

# The engine: one process, every image.
dst=$(start_registry dst-engine)
args=()
while read -r ref; do args+=("$ref" "$dst/${ref#*/}"); done <"$work/images.txt"
for phase in cold noop; do
	measure sdr-mirror "$phase" dst-engine "$bin" copy "${args[@]}" --concurrency "$conc" -o json
done

# crane: one `crane copy` per image; repositories $conc at a time, the
# images of one repository one after another (parallel crane processes
# pushing the same blob into one repository race, and Distribution rejects
# the loser with DIGEST_INVALID).
dst=$(start_registry dst-crane)
awk -v dst="$dst" '{ split($0, p, "/"); repo = p[2] "/" substr(p[3], 1, index(p[3], ":") - 1)
	rest = $0; sub(/^[^\/]*\//, "", rest)
	cmds[repo] = cmds[repo] (cmds[repo] ? " && " : "") "crane copy --insecure " $0 " " dst "/" rest }
	END { for (r in cmds) print cmds[r] }' "$work/images.txt" >"$work/crane.cmds"
for phase in cold noop; do
	measure crane "$phase" dst-crane xargs -a "$work/crane.cmds" -P "$conc" -I{} sh -c {}
done

# regsync: one config, type image per pair, $conc in parallel.
dst=$(start_registry dst-regsync)
{
	printf 'version: 1\ncreds:\n  - registry: %s\n    tls: disabled\n  - registry: %s\n    tls: disabled\n' "$src" "$dst"
	printf 'defaults:\n  parallel: %s\nsync:\n' "$conc"
	while read -r ref; do printf '  - source: %s\n    target: %s\n    type: image\n' "$ref" "$dst/${ref#*/}"; done <"$work/images.txt"
} >"$work/regsync.yaml"
mkdir -p "$work/home-regsync"
for phase in cold noop; do
	measure regsync "$phase" dst-regsync env HOME="$work/home-regsync" regsync once -c "$work/regsync.yaml"
done

# skopeo: one sync from a YAML list of repositories and tags.
dst=$(start_registry dst-skopeo)
{
	printf '%s:\n  tls-verify: false\n  images:\n' "$src"
	awk -F'[/:]' '{ repo = $3 "/" $4; t[repo] = t[repo] (t[repo] ? ", " : "") $5 } END { for (r in t) printf "    %s: [%s]\n", r, t[r] }' "$work/images.txt"
} >"$work/skopeo.yaml"
for phase in cold noop; do
	measure skopeo "$phase" dst-skopeo skopeo sync --all --src yaml --dest docker --dest-tls-verify=false "$work/skopeo.yaml" "$dst/bench"
done

# Report.
printf '\n%d images, %d MB of blobs in the source; concurrency %s; no-op: median of %s runs\n\n' "$nimg" "$((bytes / 1000000))" "$conc" "$noop_runs"
awk -F'\t' '
	{ t[$1, $2] = $3; tools[$1] = 1; rows[NR] = $0 }
	END {
		printf "%-11s %-5s %9s %8s %9s %9s\n", "TOOL", "PHASE", "SECONDS", "PEAK_MB", "SRC_REQS", "DST_REQS"
		for (i = 1; i <= NR; i++) { split(rows[i], f, "\t"); printf "%-11s %-5s %9s %8s %9s %9s\n", f[1], f[2], f[3], f[4], f[5], f[6] }
		printf "\n"
		split("cold noop", phases, " ")
		for (p = 1; p <= 2; p++) {
			ph = phases[p]; best = ""; bt = 0
			for (tool in tools) if (tool != "sdr-mirror" && t[tool, ph] != "NaN" && (best == "" || t[tool, ph] + 0 < bt)) { best = tool; bt = t[tool, ph] + 0 }
			if (best != "" && bt > 0) printf "%s: sdr-mirror %.2fs, fastest peer %s %.2fs, ratio %.2f\n", ph, t["sdr-mirror", ph], best, bt, t["sdr-mirror", ph] / bt
		}
	}' "$results"
