#!/usr/bin/env bash
# Builds and checks runtime-nostd on every target CI cares about. Called by the CI test script.
#   crates/runtime-nostd/check-targets.sh            host tests + 3 bare-metal builds + lints
#   QEMU_CHECK=0 crates/runtime-nostd/check-targets.sh   skip the QEMU run of the DSP kernel
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/../.."

echo "== fmt, clippy, host tests"
cargo fmt -p runtime-nostd -- --check
cargo clippy -p runtime-nostd --all-targets -- -D warnings
cargo test -p runtime-nostd

echo "== bare-metal builds (no_std, no alloc)"
for target in thumbv6m-none-eabi thumbv7em-none-eabihf riscv32imac-unknown-none-elf; do
  cargo build -p runtime-nostd --release --target "$target"
done
cargo build -p runtime-nostd --release --target thumbv7em-none-eabihf --features defmt
cargo clippy -p runtime-nostd --target thumbv7em-none-eabihf -- -D warnings

if [ "${QEMU_CHECK:-1}" != 0 ]; then
  echo "== Cortex-M4 DSP kernel vs reference under QEMU mps2-an386"
  # Its own cargo project, whose image this reads from ./target: ignore a shared target dir.
  (cd "$HERE/qemu-check" && unset CARGO_TARGET_DIR && cargo build --release &&
    timeout 120 qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic \
      -semihosting-config enable=on,target=native \
      -kernel target/thumbv7em-none-eabihf/release/qemu-check)
fi
echo "runtime-nostd: all target checks passed"
