#!/usr/bin/env bash
# Checks that sourcing scripts/test-env.sh leaves the caller's shell options as they were (no `set -euo pipefail`
# leaking into an interactive shell) and exports what the tests need. Run by scripts/test.
cd "$(dirname "$0")/.." || exit 1
out=$(bash --norc --noprofile -c '
  set +euo pipefail
  before=$(set +o)
  source scripts/test-env.sh >/dev/null 2>&1; rc=$?
  after=$(set +o)
  [ "$rc" = 0 ] || { echo "test-env.sh failed with $rc"; exit 1; }
  [ "$before" = "$after" ] || { echo "shell options changed:"; diff <(echo "$before") <(echo "$after"); exit 1; }
  [ -n "${DOCKER_HOST:-}" ] && [ -n "${DERRICK_NATS_SERVER:-}" ] && [ "${DERRICK_REQUIRE_DOCKER:-}" = true ] \
    || { echo "variables not exported: DOCKER_HOST=${DOCKER_HOST:-} DERRICK_NATS_SERVER=${DERRICK_NATS_SERVER:-}"; exit 1; }
  false; echo "a failing command after sourcing did not end the shell"
' 2>&1)
rc=$?
if [ "$rc" != 0 ] || [ "$out" != "a failing command after sourcing did not end the shell" ]; then
  echo "[test-env-check] FAILED: $out" >&2
  exit 1
fi
echo "[test-env-check] sourcing scripts/test-env.sh keeps the caller's shell options" >&2
