#!/usr/bin/env bash
# Usage: hack/kube-down.sh DIR
#
# Stops the etcd and kube-apiserver that hack/kube-up.sh DIR started (only
# PIDs listed in DIR/pids that still run the same program) and removes etcd's
# data under /dev/shm. Keeps certs, kubeconfig and logs in DIR. Idempotent;
# prints nothing on success.
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# == 1)) || die "usage: ${0##*/} DIR"
dir=$1
[[ -d $dir ]] || exit 0

rc=0
if [[ -f $dir/pids ]]; then
	# Last started first: kube-apiserver before etcd.
	mapfile -t entries < <(tac "$dir/pids")
	for entry in "${entries[@]}"; do
		read -r name pid <<<"$entry"
		[[ $pid =~ ^[0-9]+$ ]] || continue
		if proc_alive "$name" "$pid"; then
			stop_process "$pid" || rc=1
		fi
	done
fi

if [[ -f $dir/etcd-data-dir ]]; then
	data_dir=$(<"$dir/etcd-data-dir")
	case $data_dir in
	/dev/shm/sdr-mirror-etcd.?*) rm -rf -- "$data_dir" ;;
	*) log "warning: not removing unexpected etcd data dir '$data_dir'" ;;
	esac
fi

if ((rc == 0)); then
	rm -f "$dir/pids" "$dir/etcd-data-dir"
else
	die "some processes listed in $dir/pids did not stop"
fi
