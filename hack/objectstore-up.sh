#!/usr/bin/env bash
# Usage: hack/objectstore-up.sh s3|gcs|azure DIR
#
# Starts one object-storage server on 127.0.0.1 (installing it first with
# install-objectstores.sh) with its data under DIR, creates the bucket
# "sdr-bucket" (Azure: container "sdr-container"), and prints how to reach
# it as KEY=VALUE lines, plus a matching Dapr objectstore component in
# DIR/objectstore.yaml:
#
#   eval "$(hack/objectstore-up.sh s3 /tmp/s3)"
#   kubectl sdr-mirror map get --objectstore-component /tmp/s3/objectstore.yaml --image-map-path m.yaml
#   hack/objectstore-down.sh /tmp/s3
#
# The credentials are fixed local development values. The Go tests start
# their own servers (internal/testenv) and do not use this script.
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# == 2)) || die "usage: ${0##*/} s3|gcs|azure DIR"
kind=$1 dir=$2
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
need curl

# Local development credentials only.
access=sdrmirror-dev secret=sdrmirror-dev-secret
account=sdrmirrordev
account_key=$(printf 'sdr-mirror-local-development-key' | base64 -w0)

eval "$("$HACK_DIR/install-objectstores.sh" "$kind")"

# start NAME CMD... — run CMD in the background, log and pid in $dir, and
# wait until $port accepts connections.
start() {
	local name=$1 i
	shift
	"$@" >"$dir/$name.log" 2>&1 &
	echo $! >"$dir/$name.pid"
	for ((i = 0; i < 300; i++)); do
		port_in_use "$port" && return 0
		proc_running "$(cat "$dir/$name.pid")" || { tail -n 20 "$dir/$name.log" >&2; die "$name exited"; }
		sleep 0.1
	done
	die "$name did not listen on 127.0.0.1:$port within 30 s (log: $dir/$name.log)"
}

# azure_create_container PORT NAME — Create Container, signed with the
# account key (Shared Key), without an Azure CLI.
azure_create_container() {
	local port=$1 name=$2 date version=2021-08-06 sig
	need openssl base64
	date=$(LC_ALL=C TZ=GMT date '+%a, %d %b %Y %H:%M:%S GMT')
	sig=$(printf 'PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:%s\nx-ms-version:%s\n/%s/%s/%s\nrestype:container' \
		"$date" "$version" "$account" "$account" "$name" |
		openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(printf '%s' "$account_key" | base64 -d | od -An -tx1 | tr -d ' \n')" -binary |
		base64 -w0)
	curl -fsS -o /dev/null -X PUT -H "x-ms-date: $date" -H "x-ms-version: $version" -H 'Content-Length: 0' \
		-H "Authorization: SharedKey $account:$sig" "http://127.0.0.1:$port/$account/$name?restype=container"
}

# A failure after the server started stops it again.
trap 'rc=$?; if ((rc != 0)); then "$HACK_DIR/objectstore-down.sh" "$dir"; fi' EXIT

port=$(free_port)
case $kind in
s3)
	mkdir -p "$dir/root" "$dir/meta"
	ROOT_ACCESS_KEY_ID=$access ROOT_SECRET_ACCESS_KEY=$secret \
		start versitygw "$SDR_MIRROR_VERSITYGW" --port "127.0.0.1:$port" --quiet posix --sidecar "$dir/meta" "$dir/root"
	curl -fsS -o /dev/null --aws-sigv4 aws:amz:us-east-1:s3 --user "$access:$secret" \
		-H x-amz-content-sha256:UNSIGNED-PAYLOAD -X PUT "http://127.0.0.1:$port/sdr-bucket" || die "creating bucket sdr-bucket failed"
	cat >"$dir/objectstore.yaml" <<YAML
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: objectstore}
spec:
  type: bindings.aws.s3
  metadata:
    - {name: bucket, value: sdr-bucket}
    - {name: region, value: us-east-1}
    - {name: endpoint, value: "http://127.0.0.1:$port"}
    - {name: forcePathStyle, value: "true"}
    - {name: accessKey, value: $access}
    - {name: secretKey, value: $secret}
YAML
	printf 'SDR_MIRROR_S3_ENDPOINT=http://127.0.0.1:%s\n' "$port"
	printf 'SDR_MIRROR_S3_URL=s3://sdr-bucket?endpoint=http://127.0.0.1:%s&region=us-east-1&use_path_style=true\n' "$port"
	printf 'AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n' "$access" "$secret"
	;;
gcs)
	start fake-gcs-server "$SDR_MIRROR_FAKE_GCS" -scheme http -host 127.0.0.1 -port "$port" \
		-public-host "127.0.0.1:$port" -external-url "http://127.0.0.1:$port" \
		-backend filesystem -filesystem-root "$dir/data" -log-level warn
	curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"name":"sdr-bucket"}' \
		"http://127.0.0.1:$port/storage/v1/b?project=sdr-project" || die "creating bucket sdr-bucket failed"
	cat >"$dir/objectstore.yaml" <<YAML
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: objectstore}
spec:
  type: bindings.gcp.bucket
  metadata:
    - {name: bucket, value: sdr-bucket}
    - {name: project_id, value: sdr-project}
    - {name: endpoint, value: "http://127.0.0.1:$port"}
YAML
	printf 'SDR_MIRROR_GCS_ENDPOINT=http://127.0.0.1:%s\n' "$port"
	# Without "http://": with it, the Go client sends uploads astray.
	printf 'STORAGE_EMULATOR_HOST=127.0.0.1:%s\n' "$port"
	;;
azure)
	need node
	AZURITE_ACCOUNTS="$account:$account_key" start azurite node "$SDR_MIRROR_AZURITE" --blobHost 127.0.0.1 --blobPort "$port" \
		--location "$dir/data" --disableTelemetry --skipApiVersionCheck --silent
	cat >"$dir/objectstore.yaml" <<YAML
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: objectstore}
spec:
  type: bindings.azure.blobstorage
  metadata:
    - {name: accountName, value: $account}
    - {name: containerName, value: sdr-container}
    - {name: endpoint, value: "http://127.0.0.1:$port"}
    - {name: accountKey, value: "$account_key"}
YAML
	azure_create_container "$port" sdr-container || die "creating container sdr-container failed"
	printf 'SDR_MIRROR_AZURE_ENDPOINT=http://127.0.0.1:%s\n' "$port"
	printf 'SDR_MIRROR_AZURE_URL=azblob://sdr-container?protocol=http&localemu=true&domain=127.0.0.1:%s\n' "$port"
	printf 'AZURE_STORAGE_ACCOUNT=%s\nAZURE_STORAGE_KEY=%s\n' "$account" "$account_key"
	;;
*) die "usage: ${0##*/} s3|gcs|azure DIR" ;;
esac
