# Sourced by scripts/test and scripts/up: installs what is needed
# (scripts/ensure-deps) and puts the pnpm it pinned first on the PATH.
corral_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$corral_repo/scripts/ensure-deps"
export PATH="${CORRAL_TOOLS_DIR:-$corral_repo/.tools}/bin:$PATH"
export COREPACK_ENABLE_STRICT=0 npm_config_manage_package_manager_versions=false
