#!/usr/bin/env bash
# Upgrade Beauty Academy on Kubernetes to a released image tag, in one command (issue 12):
#
#   deploy/upgrade.sh <staging|production> <image tag>
#
#   a. sets newTag of every image in deploy/k8s/overlays/<overlay>/kustomization.yaml (commit that change:
#      the repository then says what runs) and renders the overlay with `kubectl kustomize`;
#   b. re-runs the provisioning Jobs and then every service's migration Job (`migrate upgrade head`) for
#      the new tag, and waits for each to complete: a Job that fails (or outlasts the timeout) stops the
#      upgrade here, with the previous release still serving and its Deployments untouched;
#   c. only then applies everything else (Deployments, Services, HPAs, PDBs...) and waits for every
#      rollout: maxUnavailable 0 and the readiness probes keep the old pods serving until new ones are ready.
#
# The migrations run while the old release serves: each must be compatible with it (expand now,
# contract in a later release). deploy/README.md ("Upgrading") describes the same steps by hand.
#
# Environment: KUBECTL (default kubectl), ACADEMY_K8S_DIR (default: the k8s directory next to this
# script), UPGRADE_JOB_TIMEOUT_SECONDS (per Job, default 900: the migration Jobs' activeDeadlineSeconds),
# UPGRADE_ROLLOUT_TIMEOUT (default 10m), UPGRADE_POLL_SECONDS (default 5).
# Exit status: 0 upgraded; 1 a Job failed or timed out, a rollout did not finish, or kubectl failed;
# 2 bad arguments.
set -euo pipefail

NAMESPACE=beauty-academy
KUBECTL=${KUBECTL:-kubectl}
K8S_DIR=${ACADEMY_K8S_DIR:-$(cd -- "$(dirname -- "$0")" && pwd)/k8s}
JOB_TIMEOUT=${UPGRADE_JOB_TIMEOUT_SECONDS:-900}
ROLLOUT_TIMEOUT=${UPGRADE_ROLLOUT_TIMEOUT:-10m}
POLL=${UPGRADE_POLL_SECONDS:-5}
COMPONENT=app.kubernetes.io/component

log() { printf '%s upgrade: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}
usage() {
    printf 'usage: %s <staging|production> <image tag>\n' "$0" >&2
    exit 2
}

[[ $# -eq 2 ]] || usage
overlay=$1
tag=$2
case $overlay in staging | production) ;; *) usage ;; esac
# A Docker tag: up to 128 of [A-Za-z0-9_.-], not starting with . or - (also keeps it safe inside sed).
[[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || {
    log "not an image tag: '$tag'"
    usage
}
dir=$K8S_DIR/overlays/$overlay
[[ -f $dir/kustomization.yaml ]] || die "no overlay at $dir"

k() { "$KUBECTL" -n "$NAMESPACE" "$@"; }

# wait_for_job NAME: 0 once the Job is Complete; 1 as soon as it is Failed, or after JOB_TIMEOUT seconds.
wait_for_job() {
    local name=$1 conditions deadline=$((SECONDS + JOB_TIMEOUT))
    while :; do
        conditions=$(k get job "$name" -o 'jsonpath={.status.conditions[?(@.status=="True")].type}')
        case " $conditions " in
            *" Failed "*)
                log "job/$name failed; its last log lines:"
                k logs "job/$name" --all-containers --tail=50 >&2 || true
                return 1
                ;;
            *" Complete "*)
                log "job/$name complete"
                return 0
                ;;
        esac
        if ((SECONDS >= deadline)); then
            log "job/$name did not complete within ${JOB_TIMEOUT}s"
            return 1
        fi
        sleep "$POLL"
    done
}

# a. the tag, then the manifests of this release.
sed -E "s/^([[:space:]]+newTag:).*/\\1 $tag/" "$dir/kustomization.yaml" >"$dir/kustomization.yaml.new"
mv "$dir/kustomization.yaml.new" "$dir/kustomization.yaml"
rendered=$(mktemp "${TMPDIR:-/tmp}/academy-upgrade.XXXXXX")
trap 'rm -f "$rendered"' EXIT
"$KUBECTL" kustomize "$dir" >"$rendered"
grep -q "image: .*:$tag\$" "$rendered" || die "the rendered $overlay overlay uses no image tagged $tag"
log "upgrading $overlay to $tag"

# b. provisioning, then migrations; Jobs are immutable, so the previous runs go first.
k delete job -l "$COMPONENT in (provision,migrate)" --ignore-not-found --wait=true
k apply -f "$rendered" -l "$COMPONENT notin (api,worker,migrate)"
for job in academy-db-provision academy-bus-provision academy-backup-s3-provision; do
    wait_for_job "$job" || die "provisioning failed: nothing else was applied, the previous release still serves"
done
k apply -f "$rendered" -l "$COMPONENT=migrate"
mapfile -t migrations < <(k get job -l "$COMPONENT=migrate" -o 'jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}')
((${#migrations[@]} > 0)) || die "no migration Job was created"
for job in "${migrations[@]}"; do
    wait_for_job "$job" || die "migration $job failed: the Deployments were not applied, the previous release still serves"
done

# c. the workloads, rolled over one pod at a time.
k apply -f "$rendered"
mapfile -t deployments < <(k get deployment -o 'jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}')
for deployment in "${deployments[@]}"; do
    k rollout status "deployment/$deployment" --timeout="$ROLLOUT_TIMEOUT" ||
        die "deployment/$deployment did not roll out (kubectl -n $NAMESPACE rollout undo deployment/$deployment goes back)"
done
log "$overlay runs $tag; commit $dir/kustomization.yaml"
