#!/usr/bin/env bash
# Fuzzes every target in fuzz/ for longer than .ci/run does (default 600 s
# each; pass the seconds as the first argument), keeping what it finds in
# fuzz/corpus-grown/<target>/ (ignored by git) so that runs build on each
# other. The seed corpus fuzz/corpus/<target>/ is read, never written.
# Crashes land in fuzz/artifacts/<target>/; reproduce one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET --sanitizer none fuzz/artifacts/TARGET/crash-...
# Runs on the stable toolchain: RUSTC_BOOTSTRAP lets cargo-fuzz pass its
# nightly flags; without a sanitizer none of them needs nightly code.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
for target in $(cargo fuzz list); do
  printf '\n== fuzz %s for %s s\n' "$target" "$seconds"
  mkdir -p "fuzz/corpus-grown/$target"
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "fuzz/corpus-grown/$target" "fuzz/corpus/$target" \
    --sanitizer none -- -max_total_time="$seconds" -print_final_stats=1
done
