# shellcheck shell=sh
# Helpers shared by backup.sh and restore.sh (sourced, not executed): logging, settings and a
# pluggable S3 client. S3_CLI=aws (default; the AWS CLI with --endpoint-url) or S3_CLI=mc (MinIO client).
#
# S3 settings (the same names the services use):
#   S3_ENDPOINT     host:port (scheme from S3_SECURE) or a full URL; empty = AWS itself (aws only)
#   S3_SECURE       true|false, used when S3_ENDPOINT has no scheme (default false)
#   S3_ACCESS_KEY / S3_SECRET_KEY   (fall back to AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)
#   S3_REGION       default us-east-1
#   S3_BUCKET       required
#   S3_PREFIX       folder of the backups inside the bucket (default postgres)

log() {
    printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}

die() {
    log "ERROR: $*"
    exit 1
}

# A database name that is safe to splice into file names, object keys and SQL (as provisioning requires).
check_identifier() {
    case $1 in
        '' | [!a-z_]* | *[!a-z0-9_]*) die "unsafe database name '$1' (lower-case letters, digits and _ only)" ;;
    esac
}

utc_stamp() {
    date -u +%Y%m%dT%H%M%SZ
}

# The UTC stamp of N days ago, in the same format as utc_stamp (GNU, busybox and BSD date).
utc_stamp_days_ago() {
    _then=$(($(date -u +%s) - $1 * 86400))
    date -u -d "@$_then" +%Y%m%dT%H%M%SZ 2>/dev/null || date -u -r "$_then" +%Y%m%dT%H%M%SZ
}

# sha256_of FILE: its SHA-256 in hex; fails (rather than print nothing) when the file cannot be read.
sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        _sum=$(sha256sum "$1") || return 1
    else
        _sum=$(shasum -a 256 "$1") || return 1
    fi
    _sum=${_sum%% *}
    case $_sum in
        *[!0-9a-f]* | '') die "no SHA-256 of $1" ;;
    esac
    [ ${#_sum} -eq 64 ] || die "no SHA-256 of $1"
    printf '%s\n' "$_sum"
}

s3_init() {
    S3_CLI=${S3_CLI:-aws}
    : "${S3_BUCKET:?S3_BUCKET is required}"
    S3_PREFIX=${S3_PREFIX:-postgres}
    S3_PREFIX=${S3_PREFIX%/}
    S3_ACCESS_KEY=${S3_ACCESS_KEY:-${AWS_ACCESS_KEY_ID:-}}
    S3_SECRET_KEY=${S3_SECRET_KEY:-${AWS_SECRET_ACCESS_KEY:-}}
    S3_REGION=${S3_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}
    S3_ENDPOINT_URL=${S3_ENDPOINT:-}
    case $S3_ENDPOINT_URL in
        '' | http://* | https://*) ;;
        *)
            case ${S3_SECURE:-false} in
                true | True | TRUE | 1 | yes) S3_ENDPOINT_URL="https://$S3_ENDPOINT_URL" ;;
                *) S3_ENDPOINT_URL="http://$S3_ENDPOINT_URL" ;;
            esac
            ;;
    esac
    case $S3_CLI in
        aws)
            command -v aws >/dev/null 2>&1 || die "S3_CLI=aws but the aws command is not installed"
            if [ -n "$S3_ACCESS_KEY" ]; then export AWS_ACCESS_KEY_ID="$S3_ACCESS_KEY"; fi
            if [ -n "$S3_SECRET_KEY" ]; then export AWS_SECRET_ACCESS_KEY="$S3_SECRET_KEY"; fi
            export AWS_DEFAULT_REGION="$S3_REGION"
            ;;
        mc)
            command -v mc >/dev/null 2>&1 || die "S3_CLI=mc but the mc command is not installed"
            [ -n "$S3_ENDPOINT_URL" ] || die "S3_CLI=mc needs S3_ENDPOINT"
            # A private config directory: works with a read-only root filesystem and never touches ~/.mc.
            S3_MC_CONFIG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/academy-mc.XXXXXX")
            mc --config-dir "$S3_MC_CONFIG_DIR" --quiet alias set academy-backup "$S3_ENDPOINT_URL" \
                "$S3_ACCESS_KEY" "$S3_SECRET_KEY" --api S3v4 --path auto >/dev/null
            ;;
        *) die "S3_CLI must be aws or mc, not '$S3_CLI'" ;;
    esac
}

s3_cleanup() {
    if [ -n "${S3_MC_CONFIG_DIR:-}" ]; then rm -rf "$S3_MC_CONFIG_DIR"; fi
}

_aws() {
    if [ -n "$S3_ENDPOINT_URL" ]; then
        aws --endpoint-url "$S3_ENDPOINT_URL" "$@"
    else
        aws "$@"
    fi
}

_mc() {
    mc --config-dir "$S3_MC_CONFIG_DIR" --quiet --no-color "$@"
}

# s3_put LOCAL_FILE KEY
s3_put() {
    case $S3_CLI in
        aws) _aws s3 cp --only-show-errors "$1" "s3://$S3_BUCKET/$2" ;;
        mc) _mc cp "$1" "academy-backup/$S3_BUCKET/$2" >/dev/null ;;
    esac
}

# s3_get KEY LOCAL_FILE
s3_get() {
    case $S3_CLI in
        aws) _aws s3 cp --only-show-errors "s3://$S3_BUCKET/$1" "$2" ;;
        mc) _mc cp "academy-backup/$S3_BUCKET/$1" "$2" >/dev/null ;;
    esac
}

# s3_rm KEY
s3_rm() {
    case $S3_CLI in
        aws) _aws s3 rm --only-show-errors "s3://$S3_BUCKET/$1" ;;
        mc) _mc rm "academy-backup/$S3_BUCKET/$1" >/dev/null ;;
    esac
}

# s3_ensure_bucket: create the bucket when it does not exist (S3_CREATE_BUCKET=true only).
s3_ensure_bucket() {
    case $S3_CLI in
        aws) _aws s3api head-bucket --bucket "$S3_BUCKET" >/dev/null 2>&1 || _aws s3 mb "s3://$S3_BUCKET" >/dev/null ;;
        mc) _mc mb --ignore-existing "academy-backup/$S3_BUCKET" >/dev/null ;;
    esac
}

# s3_put_lifecycle FILE: replace the bucket's lifecycle configuration (S3 PutBucketLifecycleConfiguration)
# with FILE, a JSON document {"Rules": [...]} in the S3 API's shape (which `mc ilm import` reads too).
s3_put_lifecycle() {
    case $S3_CLI in
        aws) _aws s3api put-bucket-lifecycle-configuration --bucket "$S3_BUCKET" --lifecycle-configuration "file://$1" ;;
        mc) _mc ilm import "academy-backup/$S3_BUCKET" <"$1" >/dev/null ;;
    esac
}

# s3_ls FOLDER OUTPUT_FILE: the names (without the folder) of the objects directly inside FOLDER,
# one per line. Written to a file rather than a pipe so that a failing client fails the script.
s3_ls() {
    _out=$2
    case $S3_CLI in
        aws)
            _aws s3api list-objects-v2 --bucket "$S3_BUCKET" --prefix "$1/" \
                --query 'Contents[].Key' --output text >"$_out.raw"
            tr '\t' '\n' <"$_out.raw" | awk -v p="$1/" 'index($0, p) == 1 { n = substr($0, length(p) + 1); if (n != "" && n !~ /\//) print n }' >"$_out"
            ;;
        mc)
            if ! _mc ls "academy-backup/$S3_BUCKET/$1/" >"$_out.raw" 2>"$_out.err"; then
                # An empty folder does not exist in S3: that is an empty listing, anything else an error.
                if grep -qiE 'does not exist|not found|NoSuchKey' "$_out.err"; then
                    : >"$_out.raw"
                else
                    cat "$_out.err" >&2
                    return 1
                fi
            fi
            awk '{ n = $NF; if (n !~ /\/$/) print n }' "$_out.raw" >"$_out"
            ;;
    esac
    rm -f "$_out.raw" "$_out.err"
}
