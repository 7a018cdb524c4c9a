#!/usr/bin/env bash
# Prepares this machine for derrick's test suite and exports what the tests need. Idempotent: a second run reuses
# the engine and images of the first. Sourced by scripts/test; can be sourced by hand before `./mvnw verify`:
#
#   source scripts/test-env.sh && ./mvnw -pl derrick-docker verify
#
# Installs (Debian): docker.io, busybox-static, nats-server, debootstrap, bubblewrap, slirp4netns. Starts dockerd on a private socket and
# builds the test images locally (no registry is needed). With CI=true anything missing is an error, never a skip.
#
# The work runs in a subshell with `set -euo pipefail`; only the exported variables below come back, so sourcing
# this leaves the caller's shell options alone (scripts/test-env-check.sh tests that) and a failure returns non-zero
# instead of closing the caller's shell.
_derrick_test_env() {
set -euo pipefail

DERRICK_TEST_ROOT=${DERRICK_TEST_ROOT:-/var/lib/derrick-test}
DOCKER_SOCK=${DERRICK_TEST_DOCKER_SOCK:-/run/derrick-test-docker.sock}
export DERRICK_BUSYBOX_IMAGE=${DERRICK_BUSYBOX_IMAGE:-derrick-test/busybox:1}
export DERRICK_DEBIAN_IMAGE=${DERRICK_DEBIAN_IMAGE:-derrick-test/debian:bookworm-git}

say() { printf '[test-env] %s\n' "$*" >&2; }

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
[ -x /bin/busybox ] || need_pkgs+=(busybox-static)
command -v nats-server >/dev/null 2>&1 || need_pkgs+=(nats-server)
command -v debootstrap >/dev/null 2>&1 || need_pkgs+=(debootstrap)
command -v git >/dev/null 2>&1 || need_pkgs+=(git)
# Local workspaces run every command in a bubblewrap sandbox; user-mode networking for network "on" phases.
command -v bwrap >/dev/null 2>&1 || need_pkgs+=(bubblewrap)
command -v slirp4netns >/dev/null 2>&1 || need_pkgs+=(slirp4netns)
command -v nsenter >/dev/null 2>&1 || need_pkgs+=(util-linux)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    say "missing packages ${need_pkgs[*]} and not root: install them (apt-get install -y ${need_pkgs[*]})"; exit 1
  fi
  say "installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q "${need_pkgs[@]}" >/dev/null
fi
export DERRICK_NATS_SERVER=$(command -v nats-server)

# Docker engine on a private socket. Docker's own CLI is whichever `docker` is first on PATH; any works.
export DOCKER_HOST="unix://$DOCKER_SOCK"
export TESTCONTAINERS_RYUK_DISABLED=true
export TESTCONTAINERS_HOST_OVERRIDE=localhost
# Testcontainers' start-up checks run a helper image from Docker Hub; the test engine has no registry.
export TESTCONTAINERS_CHECKS_DISABLE=true
DOCKER="docker -H $DOCKER_HOST"
if ! $DOCKER version >/dev/null 2>&1; then
  mkdir -p "$DERRICK_TEST_ROOT/docker-data" /run/derrick-test-docker-exec
  say "starting dockerd on $DOCKER_HOST (log: $DERRICK_TEST_ROOT/dockerd.log)"
  nohup dockerd --iptables=false --bridge=none --storage-driver=overlay2 \
    --data-root "$DERRICK_TEST_ROOT/docker-data" --exec-root /run/derrick-test-docker-exec \
    --pidfile /run/derrick-test-docker.pid -H "$DOCKER_HOST" >"$DERRICK_TEST_ROOT/dockerd.log" 2>&1 &
  export DERRICK_TEST_STARTED_DOCKERD=$!
  for _ in $(seq 1 60); do $DOCKER version >/dev/null 2>&1 && break; sleep 0.5; done
  if ! $DOCKER version >/dev/null 2>&1; then
    say "dockerd did not come up; last lines of its log:"; tail -20 "$DERRICK_TEST_ROOT/dockerd.log" >&2; exit 1
  fi
fi

# Busybox image: a rootfs with one link per applet.
if ! $DOCKER image inspect "$DERRICK_BUSYBOX_IMAGE" >/dev/null 2>&1; then
  say "building $DERRICK_BUSYBOX_IMAGE from busybox-static"
  rootfs=$(mktemp -d)
  mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,tmp,etc,root,proc,sys,dev,var/tmp}
  chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  tar -C "$rootfs" -c . | $DOCKER import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - "$DERRICK_BUSYBOX_IMAGE" >/dev/null
  rm -rf "$rootfs"
fi

# Debian image with bash and git, for tests that need them. debootstrap takes about a minute; the image is kept
# in the engine's data root between runs.
if ! $DOCKER image inspect "$DERRICK_DEBIAN_IMAGE" >/dev/null 2>&1; then
  say "building $DERRICK_DEBIAN_IMAGE with debootstrap (about a minute)"
  rootfs=$(mktemp -d)
  debootstrap --variant=minbase --include=bash,git,ca-certificates bookworm "$rootfs" >"$DERRICK_TEST_ROOT/debootstrap.log" 2>&1 \
    || { say "debootstrap failed; see $DERRICK_TEST_ROOT/debootstrap.log"; tail -20 "$DERRICK_TEST_ROOT/debootstrap.log" >&2; exit 1; }
  tar -C "$rootfs" -c . | $DOCKER import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - "$DERRICK_DEBIAN_IMAGE" >/dev/null
  rm -rf "$rootfs"
fi

# Tests that need a real component fail instead of skipping when this is set.
export DERRICK_REQUIRE_DOCKER=true
export DERRICK_REQUIRE_NATS=true
say "ready: DOCKER_HOST=$DOCKER_HOST images=$DERRICK_BUSYBOX_IMAGE,$DERRICK_DEBIAN_IMAGE nats-server=$DERRICK_NATS_SERVER"
}

_derrick_test_env_out=$(mktemp)
( _derrick_test_env; export -p | grep -E '^declare -x (DERRICK_|DOCKER_HOST=|TESTCONTAINERS_)' >"$_derrick_test_env_out" )
_derrick_test_env_rc=$?
if [ "$_derrick_test_env_rc" -eq 0 ]; then
  # shellcheck disable=SC1090
  . "$_derrick_test_env_out"
fi
rm -f "$_derrick_test_env_out"
unset -f _derrick_test_env
unset _derrick_test_env_out
if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  return "$_derrick_test_env_rc"
fi
exit "$_derrick_test_env_rc"
