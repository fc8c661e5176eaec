#!/usr/bin/env bash
# The test command (README, .ci/run). Installs what the tests need — idempotently — then runs
# formatting and lint checks, the workspace tests, the no_std cross builds and the firmware
# self-test under QEMU. Safe to run again and again on the same machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step prints the time it starts, so a CI log shows where the minutes go.
step() { printf '\n==> %s (%s)\n' "$*" "$(date +%T)"; }
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi

step "toolchain targets and components"
need_targets="thumbv7em-none-eabihf thumbv6m-none-eabi riscv32imac-unknown-none-elf"
installed=$(rustup target list --installed)
for t in $need_targets; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t"
done
rustup component list --installed | grep -q '^llvm-tools' || rustup component add llvm-tools
rustup component list --installed | grep -q '^clippy' || rustup component add clippy
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt

step "system packages"
if ! command -v qemu-system-arm >/dev/null; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq qemu-system-arm
fi

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

# The README's first command, the cargo part verbatim (so binary resolution is what is tested),
# kept short on the bundled subset. It builds the release profile that the tests below reuse:
# one optimised build of candle and tract instead of two (dev and release).
step "the README's main command"
main_out="${CARGO_TARGET_DIR:-target}/readme-main"
rm -rf "$main_out"
cargo run --release -p distill -- --no-progress --data data/fashion-mnist-subset \
  --teacher-epochs 1 --student-epochs 2 --out "$main_out" --cache "$main_out/cache" --name first
test -s "$main_out/first/student.int8.safetensors"

step "workspace tests"
cargo test --workspace --release --locked

step "runtime-nostd on every target"
crates/runtime-nostd/check-targets.sh

step "firmware under QEMU"
firmware/ci.sh

# What the build left on disk: CI's disk once ran full (full debug info, 570 MB per test binary).
step "disk used by build outputs"
du -sh "${CARGO_TARGET_DIR:-target}" firmware/target 2>/dev/null || true

step "all checks passed"
