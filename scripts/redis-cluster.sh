#!/usr/bin/env bash
# A local three-node Redis Cluster from the machine's redis-server, to run the platform with REDIS_CLUSTER=true
# (issue 11). The tests start their own (academy_runtime.testing's redis_cluster_url fixture); this is for people.
#
#   scripts/redis-cluster.sh up [DIR]     start it (files in DIR, new or empty, default .run/redis-cluster); prints
#                                         REDIS_CLUSTER=true REDIS_URL=redis://127.0.0.1:<port>
#   scripts/redis-cluster.sh down [DIR]   stop it and remove its files (DIR too, once empty)
#
# Free ports are chosen (each node also listens on its port + 10000, the cluster bus); no replicas, nothing
# persisted. Needs redis-server and redis-cli (Debian: apt-get install redis-server).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command=${1:-}
dir=${2:-.run/redis-cluster}
case "$command" in
  up)
    if [ -f "$dir/pids" ]; then
      echo "a cluster already runs from $dir (scripts/redis-cluster.sh down $dir first)" >&2
      exit 1
    fi
    exec "$(dirname "${BASH_SOURCE[0]}")/uv" run --frozen python -m academy_runtime.redis_cluster up --dir "$dir" ;;
  down)
    [ -f "$dir/pids" ] || { echo "no cluster in $dir" >&2; exit 1; }
    exec "$(dirname "${BASH_SOURCE[0]}")/uv" run --frozen python -m academy_runtime.redis_cluster down --dir "$dir" ;;
  *)
    echo "usage: $0 up|down [DIR]" >&2
    exit 2 ;;
esac
