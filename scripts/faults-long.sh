#!/usr/bin/env bash
# The long fault and crash runs, outside .ci/run (minutes, not seconds):
# the fault tests' main scenario four times over (EIO and ENOSPC on every
# call of every file operation, SIGKILL before every mutating call, ENOSPC
# at every tmpfs page; the tmpfs part needs root) and SIGKILL at random
# moments of many more recoveries. docs/store-format.md, "Faults", says what
# they check.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test -p caseledger-store --test faults -- --ignored --nocapture
cargo test -p caseledger-store --test enospc -- --ignored --nocapture
cargo test -p caseledger-store --test crash_recover -- --ignored --nocapture
