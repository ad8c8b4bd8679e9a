#!/usr/bin/env bash
# Usage: hack/install-kube.sh
#
# Builds kube-apiserver and kubectl ($KUBE_VERSION from hack/lib.sh) from the
# k8s.io/kubernetes Go module into $SDR_MIRROR_CACHE/kube/$KUBE_VERSION/bin,
# and installs etcd with apt-get (package etcd-server) when `etcd` is not on
# PATH. Skips whatever is already there. Prints the bin directory on stdout:
#
#   PATH=$(hack/install-kube.sh):$PATH
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# == 0)) || die "usage: ${0##*/} (no arguments)"

kube_dir="$SDR_MIRROR_CACHE/kube/$KUBE_VERSION"
build_log="$kube_dir/build.log"

kube_ok() {
	[[ -x $KUBE_BIN_DIR/kube-apiserver && -x $KUBE_BIN_DIR/kubectl ]] || return 1
	[[ $("$KUBE_BIN_DIR/kube-apiserver" --version 2>/dev/null) == "Kubernetes $KUBE_VERSION" ]] || return 1
	"$KUBE_BIN_DIR/kubectl" version --client >/dev/null 2>&1
}

install_etcd() {
	command -v etcd >/dev/null 2>&1 && return 0
	((EUID == 0)) || die "etcd is not on PATH; install it (Debian: apt-get install etcd-server) or run as root"
	need apt-get
	lock apt
	command -v etcd >/dev/null 2>&1 && return 0
	local apt_log="$SDR_MIRROR_CACHE/apt-etcd.log"
	: >"$apt_log"
	log "installing etcd-server with apt-get"
	run_logged "$apt_log" apt-get update -q || die "apt-get update failed"
	run_logged "$apt_log" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q etcd-server ||
		die "apt-get install etcd-server failed"
	command -v etcd >/dev/null 2>&1 || die "etcd-server installed but 'etcd' is not on PATH"
}

build_kube() {
	need go sed cp
	local src="$kube_dir/src" json mod_dir err
	mkdir -p "$kube_dir"
	: >"$build_log"
	log "building kube-apiserver and kubectl $KUBE_VERSION (several minutes; log: $build_log)"

	# The module cache is shared; download outside any module/workspace.
	export GOWORK=off GOFLAGS="-mod=mod -buildvcs=false"
	json=$(cd "$kube_dir" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" 2>>"$build_log") || {
		tail -n 20 "$build_log" >&2
		die "go mod download k8s.io/kubernetes@$KUBE_VERSION failed"
	}
	err=$(sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")
	[[ -z $err ]] || die "go mod download k8s.io/kubernetes@$KUBE_VERSION: $err"
	mod_dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")
	[[ -n $mod_dir && -f $mod_dir/go.mod ]] || die "no module directory in 'go mod download -json' output"

	rm -rf "$src"
	cp -R "$mod_dir" "$src"
	chmod -R u+w "$src"
	rm -rf "$src/vendor" "$src/go.work" "$src/go.work.sum"

	# Every k8s.io/foo => ./staging/... replace becomes k8s.io/foo@$KUBE_STAGING_VERSION.
	local -a staging=() edits=() refused=()
	local m
	mapfile -t staging < <(sed -n -E 's#^[[:space:]]*(replace[[:space:]]+)?(k8s\.io/[^[:space:]]+)[[:space:]]+=>[[:space:]]+\./staging/.*#\2#p' "$src/go.mod")
	((${#staging[@]} > 0)) || die "no ./staging replaces found in k8s.io/kubernetes go.mod"
	for m in "${staging[@]}"; do
		if (cd "$kube_dir" && go mod download "$m@$KUBE_STAGING_VERSION") >>"$build_log" 2>&1; then
			edits+=("-replace=$m=$m@$KUBE_STAGING_VERSION")
		else
			# The proxy refuses some staging modules; kube-apiserver and kubectl need none of them.
			refused+=("$m")
			edits+=("-dropreplace=$m" "-droprequire=$m")
		fi
	done
	((${#refused[@]} == 0)) || printf 'dropped (refused by the proxy): %s\n' "${refused[*]}" >>"$build_log"
	(cd "$src" && go mod edit "${edits[@]}") || die "go mod edit failed"

	local ldflags="-s -w"
	local pkg
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION"
		ldflags+=" -X $pkg.gitMajor=1"
		ldflags+=" -X $pkg.gitMinor=$(cut -d. -f2 <<<"$KUBE_VERSION")"
		ldflags+=" -X $pkg.gitTreeState=clean"
	done

	local out="$kube_dir/bin.tmp"
	rm -rf "$out"
	mkdir -p "$out"
	(cd "$src" && run_logged "$build_log" go build -trimpath -ldflags "$ldflags" -o "$out/" \
		./cmd/kube-apiserver ./cmd/kubectl) || die "building Kubernetes $KUBE_VERSION failed"
	rm -rf "$KUBE_BIN_DIR"
	mv "$out" "$KUBE_BIN_DIR"
	rm -rf "$src"
	kube_ok || die "built binaries in $KUBE_BIN_DIR do not run as expected"
}

install_etcd
if ! kube_ok; then
	lock "kube-$KUBE_VERSION"
	kube_ok || build_kube
fi
printf '%s\n' "$KUBE_BIN_DIR"
