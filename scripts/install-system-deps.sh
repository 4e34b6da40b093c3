#!/usr/bin/env bash
# Installs the Debian packages Parley's CI and dev machines need (only those
# that are missing; a warm machine does no apt work) and makes sure PostgreSQL
# and Redis are up. Idempotent; safe to run on every CI run.
#
# The mediasoup worker itself is built/cached by scripts/mediasoup-worker.sh.
set -euo pipefail

log() { printf '[system-deps] %s\n' "$*" >&2; }
die() { printf '[system-deps] ERROR: %s\n' "$*" >&2; exit 1; }

PACKAGES=(
  # browser for end-to-end tests (headless); fonts so pages render text
  chromium fonts-liberation
  nginx
  # mediasoup-worker build deps (keep in sync with scripts/mediasoup-worker.sh)
  libssl-dev nlohmann-json3-dev libuv1-dev libusrsctp-dev libabsl-dev
  ninja-build pkg-config python3 python3-venv g++ make
)

pkg_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for p in "${PACKAGES[@]}"; do pkg_installed "$p" || missing+=("$p"); done

if ((${#missing[@]})); then
  sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || die "missing packages ${missing[*]}; run as root"
    sudo=(sudo)
  fi
  log "installing: ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    || die "apt-get update failed"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" || die "apt-get install ${missing[*]} failed"
else
  log "all ${#PACKAGES[@]} Debian packages already installed"
fi

# wait_for NAME CHECK...: poll CHECK for up to 30s.
wait_for() {
  local name=$1; shift
  for _ in $(seq 60); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "$name did not come up within 30s"
}

pg_up() { pg_isready -h 127.0.0.1 -q; }
redis_up() { [[ $(timeout 5 redis-cli ping 2>/dev/null) == PONG ]]; }

# PostgreSQL
if pg_up; then
  log "PostgreSQL is answering on 127.0.0.1"
else
  command -v pg_ctlcluster >/dev/null || die "pg_ctlcluster not found (is postgresql installed?)"
  log "starting PostgreSQL"
  # shellcheck disable=SC2046
  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start \
    || die "pg_ctlcluster start failed"
  wait_for PostgreSQL pg_up
  log "PostgreSQL started"
fi

# Redis
if redis_up; then
  log "Redis is answering (PONG)"
else
  command -v redis-server >/dev/null || die "redis-server not found (is redis-server installed?)"
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || die "redis-server failed to start"
  wait_for Redis redis_up
  log "Redis started"
fi
