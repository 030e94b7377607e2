#!/usr/bin/env bash
# Installs every missing build and test dependency of Sprout. Idempotent: it asks dpkg which
# Debian packages are missing, runs `apt-get update` at most once, and installs only those; npm
# packages for the end-to-end tests and the conformance harness are installed from their
# package-lock.json when it changed.
# The test peers (prometheus, victoria-metrics) are installed as programs only: their package
# services are kept from starting (a temporary policy-rc.d) and, on a fresh install, disabled —
# the end-to-end tests run their own instances on loopback.
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
  libgtest-dev libgmock-dev libbenchmark-dev curl procps strace openssl zstd
)
# Remote-write peers of the end-to-end tests (Debian 12: prometheus 2.42, victoria-metrics 1.79).
PEER_SERVICES=(prometheus victoria-metrics)
APT_PACKAGES+=("${PEER_SERVICES[@]}")
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
  # Package postinst scripts start their services through invoke-rc.d / deb-systemd-invoke,
  # which ask /usr/sbin/policy-rc.d first: 101 = "action forbidden". Only ours is removed.
  policy=/usr/sbin/policy-rc.d
  own_policy=""
  if [ ! -e "$policy" ]; then
    own_policy=$policy
    trap '$SUDO rm -f "$own_policy"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    printf '#!/bin/sh\n# sprout scripts/deps.sh: no service starts during the install\nexit 101\n' |
      $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
  fi
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [ -n "$own_policy" ]; then
    $SUDO rm -f "$own_policy"
    trap - EXIT INT TERM
  fi
  # Freshly installed peers: no service left enabled or running (already installed ones are
  # the machine owner's business and are left alone).
  for svc in "${PEER_SERVICES[@]}"; do
    case " ${missing[*]} " in *" $svc "*) ;; *) continue ;; esac
    if [ -d /run/systemd/system ]; then
      $SUDO systemctl disable --now "$svc" 2>/dev/null || true
    elif [ -x "/etc/init.d/$svc" ]; then
      # The init script stops exactly the daemon it started (its pid file), nothing else.
      $SUDO "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
      $SUDO update-rc.d "$svc" disable >/dev/null 2>&1 || true
    fi
  done
else
  echo "deps: Debian packages present"
fi

# npm packages for tests/e2e and tests/conformance: reinstall only when the lock file is newer
# than the install stamp.
for dir in tests/e2e tests/conformance; do
  stamp=$dir/node_modules/.sprout-installed
  if [ ! -f "$stamp" ] || [ $dir/package-lock.json -nt "$stamp" ]; then
    echo "deps: npm ci in $dir"
    (cd $dir && npm ci --no-audit --no-fund --loglevel=error)
    touch "$stamp"
  else
    echo "deps: npm packages present in $dir"
  fi
done
