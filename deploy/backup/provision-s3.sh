#!/bin/sh
# Provision the backups bucket (issue 12): run once at installation and on every upgrade, with the S3
# server's administrator key (never the backup CronJob's). Idempotent.
#
#   1. create S3_BUCKET if it does not exist;
#   2. put its lifecycle configuration (s3/lifecycle.json): the objects under S3_PREFIX/ expire after
#      RETENTION_DAYS (30) days, and incomplete multipart uploads are aborted after a day. The S3 server
#      enforces the retention, so the backup key needs no right to delete;
#   3. S3_CLI=mc (MinIO) only: create the policies academy-backup-writer (s3/backup-writer-policy.json:
#      PutObject and multipart upload under the prefix; no DeleteObject, no listing, no lifecycle) and
#      academy-backup-reader (s3/backup-reader-policy.json: list and read under the prefix), the users
#      BACKUP_WRITER_ACCESS_KEY and BACKUP_READER_ACCESS_KEY, and attach one policy to each. On another S3
#      service create the equivalent IAM users and policies there: the two files are IAM documents.
#
# Environment: S3_ACCESS_KEY / S3_SECRET_KEY (the administrator), S3_BUCKET, S3_PREFIX (default postgres),
# RETENTION_DAYS (default 30), the other S3 settings of lib.sh, and for mc BACKUP_WRITER_ACCESS_KEY,
# BACKUP_WRITER_SECRET_KEY, BACKUP_READER_ACCESS_KEY, BACKUP_READER_SECRET_KEY.
set -eu

here=$(dirname -- "$0")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

RETENTION_DAYS=${RETENTION_DAYS:-30}
case $RETENTION_DAYS in
    '' | *[!0-9]* | 0) die "RETENTION_DAYS must be a whole number of days >= 1, not '$RETENTION_DAYS'" ;;
esac
s3_init
case $S3_BUCKET in
    *[!a-z0-9.-]*) die "unsafe bucket name '$S3_BUCKET'" ;;
esac
case $S3_PREFIX in
    '' | *[!A-Za-z0-9_./-]*) die "unsafe prefix '$S3_PREFIX'" ;;
esac
workdir=$(mktemp -d "${TMPDIR:-/tmp}/academy-s3-provision.XXXXXX")
trap 'rm -rf "$workdir"; s3_cleanup' EXIT
trap 'exit 130' INT TERM

# The documents name the bucket and prefix by placeholders; the retention is the template's 30 days.
render() {
    sed -e "s|BACKUP_BUCKET|$S3_BUCKET|g" -e "s|BACKUP_PREFIX|$S3_PREFIX|g" \
        -e "s|\"Days\": 30|\"Days\": $RETENTION_DAYS|" "$here/s3/$1" >"$workdir/$1"
}

s3_ensure_bucket
render lifecycle.json
s3_put_lifecycle "$workdir/lifecycle.json"
log "s3://$S3_BUCKET/$S3_PREFIX/: objects expire after $RETENTION_DAYS days (bucket lifecycle)"

if [ "$S3_CLI" = mc ]; then
    for role in writer reader; do
        case $role in
            writer) access=${BACKUP_WRITER_ACCESS_KEY:-} secret=${BACKUP_WRITER_SECRET_KEY:-} ;;
            reader) access=${BACKUP_READER_ACCESS_KEY:-} secret=${BACKUP_READER_SECRET_KEY:-} ;;
        esac
        [ -n "$access" ] && [ -n "$secret" ] || die "the $role's access and secret keys are required"
        render "backup-$role-policy.json"
        _mc admin policy create academy-backup academy-backup-$role "$workdir/backup-$role-policy.json" >/dev/null
        _mc admin user add academy-backup "$access" "$secret" >/dev/null
        # Attaching a policy the user already has is an error in mc: detach first (ignored when absent).
        _mc admin policy detach academy-backup academy-backup-$role --user "$access" >/dev/null 2>&1 || true
        _mc admin policy attach academy-backup academy-backup-$role --user "$access" >/dev/null
        log "MinIO user $access has policy academy-backup-$role"
    done
else
    log "S3_CLI=$S3_CLI: create the backup writer's and reader's keys with s3/backup-*-policy.json in your provider's IAM"
fi
