#!/usr/bin/env bash
# Runs every test target, one `swift test` per target so that heavy integration suites of
# different modules do not compete for the 2 cores, each bounded in time so a hang cannot eat
# the CI budget. Prints each target's result and, last, a closing line "N passed, N failed".
# Usage: scripts/run-tests.sh [TARGET ...]   (default: every test target; run after `swift build --build-tests`)
set -uo pipefail
cd "$(dirname "$0")/.."

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(PloyzModelTests PloyzComposeTests NATSClientTests PloyzStoreTests WireGuardTests PloyzDNSTests PloyzGatewayTests PloyzRuntimeTests PloyzDaemonTests PloyzDaemonTests.Workload)
limit=${PLOYZ_TEST_TIMEOUT:-1200}

passed=0 failed=0 broken=()
for target in "${targets[@]}"; do
  log=$(mktemp /tmp/ployz-test-"$target".XXXXXX)
  echo "== $target"
  # The workload suites (a dockerd per node) run after the other daemon suites, not beside them:
  # `PloyzDaemonTests.Workload` selects them, `PloyzDaemonTests` leaves them out.
  case "$target" in
    *.*) selection=(--filter "^${target//./\\.}") ;;
    PloyzDaemonTests) selection=(--filter "^$target\\." --skip "^$target\\.Workload") ;;
    *) selection=(--filter "^$target\\.") ;;
  esac
  timeout --kill-after=10 "$limit" swift test --skip-build "${selection[@]}" > "$log" 2>&1
  status=$?
  ok=$(grep -E '^✔ Test .* passed after' "$log" | grep -vc '^✔ Test run')
  bad=$(grep -E '^✘ Test .* failed after' "$log" | grep -vc '^✘ Test run')
  passed=$((passed + ok)) failed=$((failed + bad))
  grep -E '^(✘|✔ Test run|✘ Test run)' "$log" | grep -vE '^✘ Suite' | tail -40
  if [ "$status" -ne 0 ]; then
    [ "$status" -eq 124 ] && echo "$target: timed out after ${limit}s"
    [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ] && tail -30 "$log"
    broken+=("$target")
  elif [ "$ok" -eq 0 ]; then
    echo "$target: no test ran"
    broken+=("$target")
  fi
  rm -f "$log"
done

[ ${#broken[@]} -eq 0 ] || echo "failing targets: ${broken[*]}"
echo "$passed passed, $failed failed"
[ ${#broken[@]} -eq 0 ] && [ "$failed" -eq 0 ]
