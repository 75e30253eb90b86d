#!/usr/bin/env bash
# Make the services the tests need available: a running Docker engine, Chromium, debootstrap,
# R with IRkernel (the built-in `r` environment on the local backend runs the machine's R),
# Debian's docker-registry (the swarm runtimes' registry test runs one on 127.0.0.1).
#   ensure-services.sh [--optional] docker|chromium|debootstrap|r|registry ...
# Installs what is missing with apt (Debian/Ubuntu), starts dockerd when no engine answers, and
# exits non-zero with the reason when a service cannot be had, unless --optional is given (then it
# only warns: `make lab` runs on the embedded defaults without Docker).
set -uo pipefail

optional=0
wanted=()
for arg in "$@"; do
  case "$arg" in
    --optional) optional=1 ;;
    *) wanted+=("$arg") ;;
  esac
done

say() { printf 'ensure-services: %s\n' "$*" >&2; }
fail() {
  if [ "$optional" = 1 ]; then
    say "warning: $*"
    exit 0
  fi
  say "error: $*"
  exit 1
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi
}

apt_updated=0
apt_install() {
  command -v apt-get >/dev/null || return 1
  if [ "$apt_updated" = 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_docker() {
  if docker info >/dev/null 2>&1; then
    say "Docker engine answers"
    return 0
  fi
  if ! command -v dockerd >/dev/null; then
    say "installing docker.io"
    apt_install docker.io iptables || fail "could not install docker.io (needs root and apt)"
  fi
  if ! pgrep -x dockerd >/dev/null; then
    say "starting dockerd (log: /tmp/nj-dockerd.log)"
    as_root bash -c 'nohup setsid dockerd > /tmp/nj-dockerd.log 2>&1 &' \
      || fail "could not start dockerd (needs root)"
  fi
  for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then
      say "Docker engine answers"
      return 0
    fi
    sleep 1
  done
  fail "dockerd did not answer within 60 s; last log lines: $(tail -n 5 /tmp/nj-dockerd.log 2>/dev/null)"
}

ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then
    return 0
  fi
  say "installing chromium"
  apt_install chromium fonts-dejavu-core || fail "could not install chromium (needs root and apt)"
  [ -x /usr/bin/chromium ] || fail "chromium is not at /usr/bin/chromium after installing it"
}

ensure_debootstrap() {
  # Base images for Docker environments are made locally (no image registry is needed).
  if command -v debootstrap >/dev/null; then
    return 0
  fi
  say "installing debootstrap"
  apt_install debootstrap || fail "could not install debootstrap (needs root and apt)"
}

ensure_r() {
  if command -v R >/dev/null && R --slave -e 'library(IRkernel)' >/dev/null 2>&1; then
    return 0
  fi
  say "installing R and IRkernel"
  apt_install r-base-core r-cran-irkernel || fail "could not install r-base-core and r-cran-irkernel (needs root and apt)"
  R --slave -e 'library(IRkernel)' >/dev/null 2>&1 || fail "R cannot load IRkernel after installing it"
}

ensure_registry() {
  # Only the binary: the test starts its own on 127.0.0.1 (the package's service stays off).
  if command -v docker-registry >/dev/null; then
    return 0
  fi
  say "installing docker-registry"
  apt_install docker-registry || fail "could not install docker-registry (needs root and apt)"
}

for service in "${wanted[@]}"; do
  case "$service" in
    docker) ensure_docker ;;
    chromium) ensure_chromium ;;
    debootstrap) ensure_debootstrap ;;
    r) ensure_r ;;
    registry) ensure_registry ;;
    *) fail "unknown service '$service'" ;;
  esac
done
