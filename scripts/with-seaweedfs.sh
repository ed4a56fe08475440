#!/usr/bin/env bash
# Runs a command with S3 served by SeaweedFS instead of moto, to show vsnap works on an
# S3-compatible store that is not a mock of AWS:  bash scripts/with-seaweedfs.sh CMD [ARGS...]
# Starts `weed mini` on a fresh store under .stack/seaweedfs, creates the stack's bucket in it,
# points only S3 at it (AWS_ENDPOINT_URL_S3: KMS and Secrets Manager stay on moto) and sets
# VSNAP_TEST_S3=seaweedfs (the test helpers then drop storage.kmsKeyId: SeaweedFS has no SSE-KMS).
# Stops weed however CMD ends, and exits with CMD's status. Needs the local stack up.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
weed="$root/.tools/venv/bin/weed"
env_file="$root/.stack/env"
dir="$root/.stack/seaweedfs"
s3_port=18710 # weed mini's other services use 18711-18731 (flags below)
endpoint="http://127.0.0.1:$s3_port"

[[ $# -gt 0 ]] || { echo "usage: bash scripts/with-seaweedfs.sh CMD [ARGS...]" >&2; exit 2; }
[[ -f "$env_file" ]] || { echo "with-seaweedfs: $env_file is missing: run \"npm run stack:up\" first" >&2; exit 2; }
[[ -x "$weed" ]] || { echo "with-seaweedfs: $weed is missing: run \"npm run stack:up\" (it installs scripts/tools-requirements.txt)" >&2; exit 2; }
if curl -s -o /dev/null "$endpoint"; then
  echo "with-seaweedfs: something already listens on $endpoint; stop it first" >&2
  exit 2
fi
# shellcheck disable=SC1090 # the stack's credentials and bucket name, written by `npm run stack:up`
. "$env_file"

rm -rf "$dir"
mkdir -p "$dir/data"
# SeaweedFS accepts the stack's AWS credentials, so the tests' S3 clients sign as they do for moto.
(
  umask 077
  printf '{"identities":[{"name":"vsnap","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","List","Tagging","Write"]}]}\n' \
    "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$dir/s3.json"
)

weed_pid=""
stop_weed() {
  [[ -n "$weed_pid" ]] || return 0
  kill -TERM "$weed_pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$weed_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$weed_pid" 2>/dev/null || true
  wait "$weed_pid" 2>/dev/null || true
  weed_pid=""
  # weed leaves its unix sockets behind (named by port); only ours are removed.
  rm -f /tmp/seaweedfs-*-187[1-3][0-9].sock
}
trap stop_weed EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# AWS_* variables in weed's environment change how it authenticates requests: start it without any.
# Like S3, and unlike weed's default for admin identities, an upload to a missing bucket fails.
(
  unset $(compgen -e | grep '^AWS_') || true
  exec "$weed" mini -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -master.port=18720 -master.port.grpc=18721 -volume.port=18722 -volume.port.grpc=18723 \
    -filer.port=18724 -filer.port.grpc=18725 -s3.port="$s3_port" -s3.port.grpc=18711 \
    -s3.port.iceberg=0 -s3.port.lance=0 -webdav=false -admin.ui=false -admin.port=18730 -admin.port.grpc=18731 \
    -master.volumeSizeLimitMB=64 -master.telemetry=false -s3.config="$dir/s3.json" -s3.autoCreateBucket=false
) >"$dir/weed.log" 2>&1 &
weed_pid=$!

fail_start() {
  echo "with-seaweedfs: $1; last lines of $dir/weed.log:" >&2
  tail -n 30 "$dir/weed.log" >&2
  exit 1
}
deadline=$((SECONDS + 30))
until curl -fs -o /dev/null "$endpoint/healthz"; do
  kill -0 "$weed_pid" 2>/dev/null || fail_start "weed exited during startup"
  ((SECONDS < deadline)) || fail_start "SeaweedFS S3 gateway not ready on $endpoint/healthz after 30s"
  sleep 0.3
done

status="$(curl -sS -o "$dir/create-bucket.xml" -w '%{http_code}' -X PUT \
  --aws-sigv4 "aws:amz:${AWS_REGION}:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "$endpoint/$VSNAP_BUCKET")"
[[ "$status" == 200 ]] || fail_start "creating bucket $VSNAP_BUCKET failed with HTTP $status: $(cat "$dir/create-bucket.xml")"
echo "with-seaweedfs: S3 is SeaweedFS at $endpoint (bucket $VSNAP_BUCKET); KMS and Secrets Manager stay on moto" >&2

export AWS_ENDPOINT_URL_S3="$endpoint" VSNAP_TEST_S3=seaweedfs
set +e
"$@"
rc=$?
set -e
exit "$rc"
