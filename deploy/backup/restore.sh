#!/bin/sh
# Restore a Beauty Academy dump made by backup.sh into a target database.
#
#   1. resolve DUMP_KEY: "latest", a file name (beauty_academy_20250101T023000Z.dump) or a full key;
#   2. download it, check its SHA-256 against the .sha256 uploaded with it, and check the archive;
#   3. create TARGET_DATABASE if it does not exist; refuse to overwrite one that already holds
#      tables unless RESTORE_OVERWRITE=true;
#   4. pg_restore in one transaction (all or nothing), then print the tables per schema.
#
# The service roles (academy_<service>) must exist on the target server: run
# `academy-platform provision` with DATABASE_NAME=<target> first (it also restores the per-database
# grants and search_path that a dump does not carry). RESTORE_NO_OWNER=true restores without
# owners and grants instead (to inspect a dump on a scratch server that has no service roles).
#
# Environment: PGHOST, PGPORT, PGUSER, PGPASSWORD (libpq; a role that may create databases),
# DUMP_KEY (required), BACKUP_DATABASE (the backed-up database, default $PGDATABASE or beauty_academy),
# TARGET_DATABASE (default $BACKUP_DATABASE), PGMAINTENANCE_DB (default postgres), RESTORE_OVERWRITE,
# RESTORE_NO_OWNER, BACKUP_DIR and the S3 settings of lib.sh.
set -eu

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "$0")/lib.sh"

: "${DUMP_KEY:?DUMP_KEY is required: latest, a dump file name or its object key}"
BACKUP_DATABASE=${BACKUP_DATABASE:-${PGDATABASE:-beauty_academy}}
TARGET_DATABASE=${TARGET_DATABASE:-$BACKUP_DATABASE}
PGMAINTENANCE_DB=${PGMAINTENANCE_DB:-postgres}
check_identifier "$BACKUP_DATABASE"
check_identifier "$TARGET_DATABASE"
unset PGDATABASE

s3_init
workdir=$(mktemp -d "${BACKUP_DIR:-${TMPDIR:-/tmp}}/academy-restore.XXXXXX")
trap 'rm -rf "$workdir"; s3_cleanup' EXIT
trap 'exit 130' INT TERM

case $DUMP_KEY in
    */*)
        folder=${DUMP_KEY%/*}
        name=${DUMP_KEY##*/}
        ;;
    *)
        folder="$S3_PREFIX/$BACKUP_DATABASE"
        name=$DUMP_KEY
        ;;
esac
s3_ls "$folder" "$workdir/listing"
if [ "$name" = latest ]; then
    name=$(grep -E "^${BACKUP_DATABASE}_[0-9]{8}T[0-9]{6}Z\\.dump\$" "$workdir/listing" | sort | tail -n 1 || true)
    [ -n "$name" ] || die "no dump of $BACKUP_DATABASE in s3://$S3_BUCKET/$folder/"
fi
grep -qxF "$name" "$workdir/listing" || die "s3://$S3_BUCKET/$folder/$name does not exist"

log "downloading s3://$S3_BUCKET/$folder/$name"
s3_get "$folder/$name" "$workdir/$name"
if grep -qxF "$name.sha256" "$workdir/listing"; then
    s3_get "$folder/$name.sha256" "$workdir/$name.sha256"
    expected=$(tr -d ' \n\r' <"$workdir/$name.sha256")
    actual=$(sha256_of "$workdir/$name")
    [ "$expected" = "$actual" ] || die "checksum mismatch for $name: expected $expected, got $actual"
    log "checksum verified ($actual)"
elif [ "${REQUIRE_CHECKSUM:-true}" = true ]; then
    die "$name.sha256 is missing (set REQUIRE_CHECKSUM=false to restore anyway)"
fi
pg_restore --list "$workdir/$name" >/dev/null

exists=$(psql --no-password --no-psqlrc -X -tA -d "$PGMAINTENANCE_DB" \
    -c "SELECT 1 FROM pg_database WHERE datname = '$TARGET_DATABASE'")
if [ "$exists" = 1 ]; then
    tables=$(psql --no-password --no-psqlrc -X -tA -d "$TARGET_DATABASE" -c \
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND n.nspname NOT LIKE 'pg_toast%'")
    if [ "$tables" != 0 ] && [ "${RESTORE_OVERWRITE:-false}" != true ]; then
        die "database $TARGET_DATABASE already holds $tables table(s); set RESTORE_OVERWRITE=true to replace them"
    fi
    log "restoring into existing database $TARGET_DATABASE ($tables table(s) will be replaced)"
else
    log "creating database $TARGET_DATABASE"
    createdb --no-password --maintenance-db="$PGMAINTENANCE_DB" "$TARGET_DATABASE"
fi

set -- --no-password --single-transaction --exit-on-error --clean --if-exists --dbname="$TARGET_DATABASE"
if [ "${RESTORE_NO_OWNER:-false}" = true ]; then
    set -- "$@" --no-owner --no-privileges
fi
pg_restore "$@" "$workdir/$name"

log "restored $name into $TARGET_DATABASE; tables per schema:"
psql --no-password --no-psqlrc -X -tA -F ' ' -d "$TARGET_DATABASE" -c \
    "SELECT n.nspname, count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname NOT LIKE 'pg_toast%' GROUP BY 1 ORDER BY 1" >&2
