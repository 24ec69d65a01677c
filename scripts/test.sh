#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test suite:
#   1. unit and end-to-end tests (ctest in build/)
#   2. the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
#   3. the libFuzzer targets for a smoke run of 20 s each (build-fuzz/)
# and ends with one line "N passed, N failed" that counts every suite.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PARLEY_WITH_TEST_PEERS=1
deps_start=$(date +%s)
bash scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }
echo "install-deps took $(( $(date +%s) - deps_start )) s"

jobs=$(nproc)
passed=0
failed=0
werror=OFF
if [[ "${CI:-}" == "true" || "${PARLEY_WERROR:-0}" == 1 ]]; then werror=ON; fi
# In CI, line tables only (-g1): backtraces and sanitizer reports keep file:line, and a heavy
# translation unit compiles about a quarter faster (router/modules/pep.cpp: 16 s against 22 s,
# a third of the object size). Local builds keep full debug information.
release_flags=() debug_flags=()
if [[ "${CI:-}" == "true" ]]; then
  release_flags=(-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG")
  debug_flags=(-DCMAKE_CXX_FLAGS_DEBUG="-g1")
fi

# Adds the counts of a ctest log ("NN% tests passed, F tests failed out of T") to the totals.
count_ctest() {
  local log="$1" line total bad
  line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$log" | tail -n 1)
  if [[ -z "$line" ]]; then
    failed=$((failed + 1))
    return
  fi
  bad=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
  total=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")
  passed=$((passed + total - bad))
  failed=$((failed + bad))
}

logs=$(mktemp -d)

echo "== build (RelWithDebInfo, -Werror=$werror)"
start=$(date +%s)
if cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${release_flags[@]}" -DPARLEY_WERROR=$werror >/dev/null &&
   cmake --build build -j "$jobs"; then
  echo "build took $(( $(date +%s) - start )) s"
  echo "== unit and end-to-end tests"
  start=$(date +%s)
  (cd build && ctest --output-on-failure -j "$jobs" --timeout 600) 2>&1 | tee "$logs/main.log"
  count_ctest "$logs/main.log"
  echo "unit and end-to-end tests took $(( $(date +%s) - start )) s"
else
  echo "build failed"
  failed=$((failed + 1))
fi

echo "== unit tests under ASan + UBSan"
start=$(date +%s)
if cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug "${debug_flags[@]}" -DPARLEY_SANITIZE=ON -DPARLEY_WERROR=$werror >/dev/null &&
   cmake --build build-asan -j "$jobs" --target parley_unit_tests; then
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     ctest --output-on-failure -j "$jobs" -L unit --timeout 600) 2>&1 | tee "$logs/asan.log"
  count_ctest "$logs/asan.log"
  echo "sanitizer build and tests took $(( $(date +%s) - start )) s"
else
  echo "sanitizer build failed"
  failed=$((failed + 1))
fi

echo "== fuzz smoke (libFuzzer, ASan + UBSan)"
fuzz_seconds=${PARLEY_FUZZ_SECONDS:-20}
start=$(date +%s)
if CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARLEY_FUZZ=ON >/dev/null &&
   cmake --build build-fuzz -j "$jobs"; then
  # One target per core at a time: each runs for fuzz_seconds on its own, in half the wall time.
  fuzz_one() {
    local target=$1 corpus="$logs/corpus-$1"
    mkdir -p "$corpus"
    cp tests/fuzz/corpus/"${target%%_stream_parser}"/* "$corpus"/ 2>/dev/null || true
    build-fuzz/tests/fuzz/fuzz_$target -max_total_time="$fuzz_seconds" -max_len=8192 -timeout=10 \
      -print_final_stats=1 "$corpus" >"$logs/fuzz-$target.log" 2>&1
    echo $? >"$logs/fuzz-$target.rc"
  }
  fuzz_targets=(xml_stream_parser jid webhook_inbound smpp_pdu muc_room mail_parse smtp_protocol pep_rules)
  for ((i = 0; i < ${#fuzz_targets[@]}; i += jobs)); do
    for target in "${fuzz_targets[@]:i:jobs}"; do
      fuzz_one "$target" &
    done
    wait
  done
  for target in "${fuzz_targets[@]}"; do
    if [[ "$(cat "$logs/fuzz-$target.rc" 2>/dev/null)" == 0 ]]; then
      echo "fuzz_$target: ok ($(grep -E 'stat::number_of_executed_units' "$logs/fuzz-$target.log" | awk '{print $2}') runs)"
      passed=$((passed + 1))
    else
      echo "fuzz_$target: FAILED"
      tail -n 60 "$logs/fuzz-$target.log"
      failed=$((failed + 1))
    fi
  done
  echo "fuzz build and smoke took $(( $(date +%s) - start )) s"
else
  echo "fuzz build failed"
  failed=$((failed + 1))
fi

echo
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
