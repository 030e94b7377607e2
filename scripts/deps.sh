#!/usr/bin/env bash
# Installs every missing build and test dependency of Sprout. Idempotent: it asks dpkg which
# Debian packages are missing, runs `apt-get update` at most once, and installs only those; npm
# packages for the end-to-end tests are installed from package-lock.json when it changed.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # toolchain
  cmake ninja-build ccache g++ pkg-config clang libclang-rt-14-dev clang-format
  # libraries (see the dependency table in README.md)
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc libabsl-dev
  libyaml-cpp-dev libre2-dev libsnappy-dev libzstd-dev zlib1g-dev liblz4-dev libboost1.81-dev
  libcurl4-openssl-dev libssl-dev rapidjson-dev libcli11-dev libspdlog-dev libfmt-dev
  libjemalloc-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev curl procps
)
command -v node >/dev/null 2>&1 || APT_PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(npm)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "deps: Debian packages present"
fi

# npm packages for tests/e2e: reinstall only when the lock file is newer than the install stamp.
stamp=tests/e2e/node_modules/.sprout-installed
if [ ! -f "$stamp" ] || [ tests/e2e/package-lock.json -nt "$stamp" ]; then
  echo "deps: npm ci in tests/e2e"
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
  touch "$stamp"
else
  echo "deps: npm packages present"
fi
