# Sourced by the project's scripts (bootstrap.sh, test.sh, scripts/uv): puts uv, the workspace's package
# manager, on the PATH of the shell that sources it. A fresh machine may have none, or one that a
# script's PATH does not reach (CI does not read a login shell's profile, so ~/.local/bin or pyenv's
# newest shims may be missing from it). Order: uv on the PATH; the project's own copy in .tools/uv;
# the usual install places; else (with ACADEMY_UV_INSTALL=1) a new copy from PyPI in .tools/uv, a venv
# of its own, so that neither a Python marked externally managed (PEP 668) nor pyenv stands in the way.
# Returns non-zero, saying what is missing, when no uv can be found or installed.

academy_uv_env() {
  command -v uv >/dev/null 2>&1 && return 0
  local root dir py
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  local candidates=("$root/.tools/uv/bin" "$HOME/.local/bin" "$HOME/.cargo/bin")
  for py in python3 python; do
    command -v "$py" >/dev/null 2>&1 || continue
    dir=$("$py" -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null) && candidates+=("$dir")
    dir=$("$py" -m site --user-base 2>/dev/null) && candidates+=("$dir/bin")
  done
  for dir in "${candidates[@]}"; do
    if [ -x "$dir/uv" ]; then export PATH="$dir:$PATH"; return 0; fi
  done
  if [ "${ACADEMY_UV_INSTALL:-0}" != 1 ]; then
    echo "uv is not installed: run \`bash scripts/bootstrap.sh\` (or \`make test\`/\`make run\`, which run it)" >&2
    return 1
  fi
  py=$(command -v python3 || command -v python || true)
  if [ -z "$py" ]; then
    echo "no python3 to install uv with: install Debian's python3 and python3-venv" >&2
    return 1
  fi
  echo "[bootstrap] installing uv from PyPI into .tools/uv" >&2
  rm -rf "$root/.tools/uv"
  if ! "$py" -m venv "$root/.tools/uv" >/dev/null \
     || ! "$root/.tools/uv/bin/pip" install --quiet --disable-pip-version-check uv; then
    echo "could not install uv with $py (is Debian's python3-venv installed? is PyPI reachable?)" >&2
    return 1
  fi
  export PATH="$root/.tools/uv/bin:$PATH"
}
