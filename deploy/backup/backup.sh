#!/bin/sh
# Logical backup of the Beauty Academy database to S3, with retention.
#
#   1. pg_dump --format=custom of PGDATABASE (every service schema, one consistent snapshot);
#   2. check the archive is readable (pg_restore --list) and write its SHA-256 next to it;
#   3. upload both to s3://$S3_BUCKET/$S3_PREFIX/$PGDATABASE/$PGDATABASE_<UTC stamp>.dump[.sha256];
#   4. retention is the bucket's lifecycle rule (provision-s3.sh: objects under S3_PREFIX/ expire after
#      30 days), so the key this script runs with may write but not delete, and a stolen key cannot
#      erase the backups. BACKUP_PRUNE=true (off by default; only with a key that may list and delete)
#      also deletes, after the upload, the dumps older than RETENTION_DAYS by the stamp in their name,
#      for an S3 server without lifecycle rules.
#
# Any failure (pg_dump, the archive check, an upload) ends the script with a non-zero status, so the
# Kubernetes Job fails and kube-state-metrics' kube_job_status_failed reports it.
#
# Environment: PGHOST, PGPORT, PGUSER, PGPASSWORD (libpq), PGDATABASE (default beauty_academy),
# RETENTION_DAYS (default 30), BACKUP_PRUNE (default false), BACKUP_DIR (scratch space, default $TMPDIR or /tmp),
# S3_CREATE_BUCKET (true: create the bucket if missing), and the S3 settings of lib.sh
# (S3_CLI=aws|mc, S3_ENDPOINT, S3_SECURE, S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION, S3_BUCKET, S3_PREFIX).
set -eu

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "$0")/lib.sh"

PGDATABASE=${PGDATABASE:-beauty_academy}
export PGDATABASE
check_identifier "$PGDATABASE"
RETENTION_DAYS=${RETENTION_DAYS:-30}
case $RETENTION_DAYS in
    '' | *[!0-9]* | 0) die "RETENTION_DAYS must be a whole number of days >= 1, not '$RETENTION_DAYS'" ;;
esac

s3_init
workdir=$(mktemp -d "${BACKUP_DIR:-${TMPDIR:-/tmp}}/academy-backup.XXXXXX")
trap 'rm -rf "$workdir"; s3_cleanup' EXIT
trap 'exit 130' INT TERM

folder="$S3_PREFIX/$PGDATABASE"
name="${PGDATABASE}_$(utc_stamp).dump"

if [ "${S3_CREATE_BUCKET:-false}" = true ]; then
    s3_ensure_bucket
fi

log "dumping database $PGDATABASE from ${PGHOST:-local socket}:${PGPORT:-5432} as ${PGUSER:-$(id -un)}"
pg_dump --format=custom --no-password --lock-wait-timeout=300s --file="$workdir/$name"
pg_restore --list "$workdir/$name" >/dev/null
sha256_of "$workdir/$name" >"$workdir/$name.sha256"
size=$(wc -c <"$workdir/$name" | tr -d ' ')

s3_put "$workdir/$name" "$folder/$name"
s3_put "$workdir/$name.sha256" "$folder/$name.sha256"
log "uploaded s3://$S3_BUCKET/$folder/$name ($size bytes, sha256 $(cat "$workdir/$name.sha256"))"

if [ "${BACKUP_PRUNE:-false}" != true ]; then
    log "backup done: $name (retention: the bucket's lifecycle rule expires objects under $S3_PREFIX/)"
    exit 0
fi

# Pruning by the script: the stamp is part of the name, so a string comparison orders dumps in time.
cutoff=$(utc_stamp_days_ago "$RETENTION_DAYS")
s3_ls "$folder" "$workdir/listing"
awk -v db="$PGDATABASE" -v cutoff="$cutoff" '
    {
        if (index($0, db "_") != 1) next
        stamp = substr($0, length(db) + 2, 16)
        rest = substr($0, length(db) + 18)
        if (stamp !~ /^[0-9]{8}T[0-9]{6}Z$/) next
        if (rest != ".dump" && rest != ".dump.sha256") next
        if (stamp < cutoff) print
    }' "$workdir/listing" >"$workdir/expired"
expired=0
while IFS= read -r old; do
    s3_rm "$folder/$old"
    log "deleted expired s3://$S3_BUCKET/$folder/$old"
    expired=$((expired + 1))
done <"$workdir/expired"
log "backup done: $name; $expired expired object(s) removed (retention $RETENTION_DAYS days, cutoff $cutoff)"
