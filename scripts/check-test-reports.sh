#!/usr/bin/env bash
# After `mvnw verify`: fails when any test was skipped, or when a suite that needs a real component (Docker
# engine, nats-server) did not run at all. A skipped real-component test is a failed one.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
reports=(derrick-*/target/surefire-reports/TEST-*.xml derrick-*/target/failsafe-reports/TEST-*.xml
         derrick-*/*/target/surefire-reports/TEST-*.xml derrick-*/*/target/failsafe-reports/TEST-*.xml)
if [ ${#reports[@]} -eq 0 ]; then
  echo "check-test-reports: no test reports found" >&2; exit 1
fi
status=0
total=0; skipped_total=0
for f in "${reports[@]}"; do
  line=$(grep -m1 -o '<testsuite [^>]*>' "$f")
  tests=$(sed -n 's/.* tests="\([0-9]*\)".*/\1/p' <<<"$line")
  skipped=$(sed -n 's/.* skipped="\([0-9]*\)".*/\1/p' <<<"$line")
  total=$((total + ${tests:-0})); skipped_total=$((skipped_total + ${skipped:-0}))
  if [ "${skipped:-0}" != 0 ]; then
    echo "check-test-reports: $skipped test(s) skipped in $f" >&2; status=1
  fi
done
# Suites that must have run with at least one test each (real Docker engine, real nats-server).
for required in ${DERRICK_REQUIRED_SUITES:-}; do
  found=0
  for f in "${reports[@]}"; do
    case "$(basename "$f")" in
      TEST-*${required}*.xml)
        n=$(grep -m1 -o '<testsuite [^>]*>' "$f" | sed -n 's/.* tests="\([0-9]*\)".*/\1/p')
        [ "${n:-0}" -gt 0 ] && found=1 ;;
    esac
  done
  if [ $found = 0 ]; then
    echo "check-test-reports: required suite matching '$required' did not run" >&2; status=1
  fi
done
echo "check-test-reports: $total tests in ${#reports[@]} suites, $skipped_total skipped"
exit $status
