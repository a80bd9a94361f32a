#!/bin/sh
# Check a built hub image (Dockerfile) the way the chart runs it, against this checkout:
#
#   ops/check-image.sh IMAGE        (make image-check; PYTHON=... for the checkout's interpreter)
#
# 1. every process's imports load and the scheduler's core is the compiled build;
# 2. the compiled core decides exactly as this checkout's sources: the same SHA-256 over every
#    decision of scale snapshots of all nine policies and of a 500-job replay
#    (`python -m scheduler.bench fingerprint`, as tests/scheduler/test_compiled_core.py does);
# 3. every command the chart runs exists in the image (each answers --help;
#    tests/helm/test_commands.py keeps this list in step with the chart);
# 4. the API and the portal start as the chart starts them: user 10001, read-only root
#    filesystem, HOME and /tmp on a tmpfs, data on a volume, migrations applied, and answer
#    their probes; a Ray head with two simulated GPUs of a type (as KubeRay starts a worker)
#    runs a task on half a GPU, which sees its device and PyTorch; the scheduler leads, passes
#    against that Ray cluster and the API's database, and its metrics say the compiled core;
# 5. the compiled core's pass time at 10k pending jobs x 1,000 GPUs (reported, not judged:
#    milliseconds depend on the machine; docs/scheduler.md, "Pass time").
# Everything runs in one container (docker exec): a daemon with the vfs storage driver copies
# the whole image for every container it creates. Needs a Docker daemon and curl.
# Exit status: 0 when 1-4 hold.
set -eu
image=${1:?usage: ops/check-image.sh IMAGE}
python=${PYTHON:-.venv/bin/python}
api_port=${CHECK_API_PORT:-28765}
portal_port=${CHECK_PORTAL_PORT:-28766}
# above Ray's worker ports (10002-19999), which a Ray head takes for itself
ray_port=${CHECK_RAY_PORT:-26379}
dashboard_port=${CHECK_DASHBOARD_PORT:-28767}
metrics_port=${CHECK_METRICS_PORT:-28768}
volume=axhub-check-$$
container=axhub-check-$$
trace=scheduler/bench/traces/openb_heldout.csv
fingerprint_args="--pending 1500 --gpus 200 --seeds 2 --trace $trace --trace-jobs 500"
cleanup() {
  docker rm -f "$container" >/dev/null 2>&1 || true
  docker volume rm "$volume" >/dev/null 2>&1 || true
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
in_image() { docker exec "$container" "$@"; }
# wait_for URL LOG: until URL answers 200 (60 s), else print the process's LOG and fail
wait_for() {
  status=""
  for _ in $(seq 1 60); do
    status=$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)
    [ "$status" = 200 ] && return 0
    sleep 1
  done
  in_image cat "$2" >&2 || true
  fail "$1 answered '$status'"
}

docker volume create "$volume" >/dev/null
# as the chart's pods: read-only root filesystem, /tmp (and HOME=/tmp) writable, data on a
# volume (whose root the chart's fsGroup gives the pod; here a chown does)
docker run -d --name "$container" --network host --read-only --tmpfs /tmp --shm-size 512m \
  -v "$volume:/data" "$image" sleep infinity >/dev/null
docker exec -u 0 "$container" chown 10001:10001 /data

echo "== 1. imports and the core's build"
build=$(in_image python -c "import hub_api, scheduler, portal, ray, mlflow, torch
from scheduler.core import core_build
print(core_build())")
echo "core: $build, user: $(in_image id -u)"
[ "$build" = compiled ] || fail "the image runs the $build core"

echo "== 2. the compiled core decides as the sources"
# shellcheck disable=SC2086  # the arguments are meant to split
expected=$("$python" -m scheduler.bench fingerprint $fingerprint_args | cut -d' ' -f1)
# shellcheck disable=SC2086
got=$(in_image python -m scheduler.bench fingerprint $fingerprint_args | cut -d' ' -f1)
echo "sources: $expected"
echo "image:   $got"
[ "$expected" = "$got" ] || fail "the image decides otherwise"

echo "== 3. the chart's commands (helm/axhub/templates)"
for command in "axhub serve" "axhub db upgrade" "axhub scheduler run" "axhub grants housekeeping" \
  "mlflow server" "streamlit run" "ray start"; do
  # shellcheck disable=SC2086  # the command is meant to split
  in_image $command --help >/dev/null || fail "'$command --help' failed"
  echo "ok: $command"
done

echo "== 4. the API and the portal as the chart runs them"
in_image sh -c "axhub serve --host 127.0.0.1 --port $api_port >/tmp/api.log 2>&1 &"
wait_for "http://127.0.0.1:$api_port/api/v1/health/ready" /tmp/api.log
echo "api ready: $(curl -s "http://127.0.0.1:$api_port/api/v1/health/ready")"
in_image sh -c "streamlit run portal/streamlit_app.py --server.headless true \
  --server.port $portal_port --server.address 127.0.0.1 >/tmp/portal.log 2>&1 &"
wait_for "http://127.0.0.1:$portal_port/_stcore/health" /tmp/portal.log
echo "portal health: $(curl -s "http://127.0.0.1:$portal_port/_stcore/health")"

in_image sh -c "ray start --head --port $ray_port --num-gpus 2 \
  --resources '{\"gpu_type:A100\": 2}' --dashboard-host 127.0.0.1 \
  --dashboard-port $dashboard_port --disable-usage-stats \
  >/tmp/ray.log 2>&1" || { in_image cat /tmp/ray.log >&2; fail "ray start failed"; }
ray_task=$(in_image python -c "
import os, ray, torch
ray.init(address='127.0.0.1:$ray_port', logging_level='ERROR')
assert ray.cluster_resources().get('gpu_type:A100') == 2, ray.cluster_resources()
@ray.remote(num_gpus=0.5, resources={'gpu_type:A100': 0.5})
def device() -> str:
    return os.environ['CUDA_VISIBLE_DEVICES'] + ', torch ' + torch.__version__
print(ray.get(device.remote(), timeout=120))
") || fail "the Ray task did not run"
echo "ray task on half a GPU: CUDA_VISIBLE_DEVICES=$ray_task"
in_image sh -c "axhub scheduler run --ray-address http://127.0.0.1:$dashboard_port \
  --metrics-port $metrics_port >/tmp/scheduler.log 2>&1 &"
metrics_url="http://127.0.0.1:$metrics_port/metrics"
passes=""
for _ in $(seq 1 90); do
  passes=$(curl -s "$metrics_url" | awk '/^axhub_scheduler_passes_total /{print $2}' || true)
  [ -n "$passes" ] && [ "$passes" != 0.0 ] && break
  sleep 1
done
if [ -z "$passes" ] || [ "$passes" = 0.0 ]; then
  in_image cat /tmp/scheduler.log >&2 || true
  fail "the scheduler ran no pass ($metrics_url)"
fi
core_info=$(curl -s "$metrics_url" | grep '^axhub_scheduler_core_info')
echo "scheduler: $passes passes, $core_info"
case $core_info in
  *'build="compiled"'*) ;;
  *) fail "the scheduler does not run the compiled core" ;;
esac
in_image ray stop >/dev/null 2>&1 || true

echo "== 5. the compiled core's pass time (10k pending x 1,000 GPUs)"
in_image sh -c 'python -m scheduler.bench scale --json /tmp/scale.json >/dev/null \
  && cat /tmp/scale.json'
echo
echo "image checked: $image"
