#!/usr/bin/env bash
# Firmware checks, called by scripts/test.sh; safe to run again and again.
# Installs what it needs (idempotently), tests the board-independent logic on the host,
# builds every board, runs the self-test and the failure paths under QEMU (always under a
# timeout), runs the soft decision tree's self-test (with its path) and benchmark, and prints
# the footprint and instruction-count report.
# Artifact: $MICRODISTILL_MODEL (default: the committed demo model, see build.rs); the soft
# decision tree images embed $MICRODISTILL_TREE_MODEL (default: the committed demo tree).
set -euo pipefail
cd "$(dirname "$0")"
# The scripts here read images from ./target/<triple>/: ignore a shared target dir.
unset CARGO_TARGET_DIR

step() { printf '\n==> firmware: %s\n' "$*"; }
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
DEFMT_PRINT_VERSION=1.2.0

# The artifact every image embeds (build.rs has the default); without it nothing builds.
default_model=$(sed -n 's/^const DEFAULT_MODEL: &str = "\(.*\)";/\1/p' build.rs)
model=${MICRODISTILL_MODEL:-$default_model}
vectors=${MICRODISTILL_VECTORS:-${model%.int8.safetensors}.vectors.safetensors}
tree_model=${MICRODISTILL_TREE_MODEL:-../tests/fixtures/demo-tree.int8.safetensors}
tree_vectors=${MICRODISTILL_TREE_VECTORS:-${tree_model%.int8.safetensors}.vectors.safetensors}
for f in "$model" "$vectors" "$tree_model" "$tree_vectors"; do
    [ -f "$f" ] || { echo "firmware: $f is missing (set MICRODISTILL_MODEL, or commit the demo model)" >&2; exit 1; }
done

step "tools"
installed=$(rustup target list --installed)
for t in thumbv7em-none-eabihf thumbv7m-none-eabi thumbv6m-none-eabi; do
    grep -qx "$t" <<<"$installed" || rustup target add "$t"
done
rustup component list --installed | grep -q '^llvm-tools' || rustup component add llvm-tools
if ! command -v qemu-system-arm >/dev/null; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq qemu-system-arm
fi
# defmt-print decodes the log frames (about 3.5 min to build, so only when missing).
command -v defmt-print >/dev/null || cargo install --locked defmt-print --version "$DEFMT_PRINT_VERSION"
BIN="$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin"
T=${CARGO_TARGET_DIR:-target}

step "format and lints"
cargo fmt --check
cargo clippy --locked --release -- -D warnings
cargo clippy --locked --release --no-default-features --features nrf52840 -- -D warnings
cargo clippy --locked --target x86_64-unknown-linux-gnu --no-default-features --all-targets -- -D warnings

step "host tests (app over embedded-hal-mock, self-test bookkeeping)"
cargo test --locked --target x86_64-unknown-linux-gnu --no-default-features
# The glue over the tree artifact too (tests/model.rs reads the same variables as build.rs).
MICRODISTILL_MODEL=$tree_model MICRODISTILL_VECTORS=$tree_vectors \
    cargo test --locked --target x86_64-unknown-linux-gnu --no-default-features --test model

# run EXPECTED_STATUS ELF [extra QEMU args]: the run.sh runner, its status checked; its log
# is kept in $T/report/run.log (footprint.sh reads the self-tests' stack peaks from copies).
mkdir -p "$T/report"
run() {
    local want=$1 elf=$2 got=0
    shift 2
    QEMU_TIMEOUT=120 QEMU_EXTRA="$*" ./run.sh "$elf" | tee "$T/report/run.log" || got=$?
    if [ "$got" != "$want" ]; then
        echo "firmware: $(basename "$elf") exited with $got, expected $want" >&2
        exit 1
    fi
    echo "firmware: $(basename "$elf") exited with $got as expected"
}

step "QEMU mps2-an386 (Cortex-M4F, DSP kernel): build, self-test, failure paths"
cargo build --locked --release
M4=$T/thumbv7em-none-eabihf/release
run 0 $M4/selftest
cp $M4/selftest $T/report/mps2-an386.elf
cp $T/report/run.log $T/report/mps2-an386.log
run 101 $M4/check-panic
run 102 $M4/check-hardfault

step "the application end to end: test vectors in over UART0, classes back (QEMU mps2-an386)"
python3 uart_e2e.py $M4/uart-app "$vectors" 120

step "QEMU netduinoplus2 (STM32F405: 1 MB flash at 0x0800_0000, 128 KB RAM): self-test"
cargo build --locked --release --no-default-features --features netduinoplus2 --bin selftest
cp $M4/selftest $T/report/netduinoplus2.elf
run 0 $T/report/netduinoplus2.elf
cp $T/report/run.log $T/report/netduinoplus2.log

step "Cortex-M0 build (thumbv6m, reference kernel): self-test on QEMU mps2-an385 (Cortex-M3 core)"
# ARMv6-M code runs unchanged on an ARMv7-M core; the MPS2 memory map leaves room to spare.
cargo build --locked --release --target thumbv6m-none-eabi --bin selftest
QEMU_MACHINE=mps2-an385 QEMU_CPU=cortex-m3 run 0 $T/thumbv6m-none-eabi/release/selftest

step "Cortex-M0 on a real part's memory: QEMU microbit (nRF51822, 256 KB flash, 16 KB RAM)"
cargo build --locked --release --target thumbv6m-none-eabi --no-default-features --features microbit --bin selftest
cp $T/thumbv6m-none-eabi/release/selftest $T/report/microbit.elf
run 0 $T/report/microbit.elf
cp $T/report/run.log $T/report/microbit.log

step "nRF52840-DK build (RTT; flashed with probe-rs, not run here)"
cargo build --locked --release --no-default-features --features nrf52840
# Same target directory as the QEMU images: keep copies before the next build replaces them.
cp $M4/selftest $T/report/nrf52840.elf
cp $M4/sensor $T/report/nrf52840-sensor.elf

step "instructions per inference and per MAC (QEMU -icount shift=7, FPGAIO counter)"
cargo build --locked --release --bin bench
run 0 $M4/bench
cp $T/report/run.log $T/report/bench.log
cargo build --locked --release --target thumbv7m-none-eabi --bin bench
run 0 $T/thumbv7m-none-eabi/release/bench

step "vectors without labels (what export writes for unlabelled evaluation data): build, self-test"
# The same model; its vectors less the optional `label` tensor. Before the tree step, which
# rebuilds these images around another artifact anyway.
nolabel=$T/report/no-label.vectors.safetensors
python3 drop_tensors.py "$vectors" "$nolabel" label
MICRODISTILL_VECTORS="$nolabel" cargo build --locked --release --bin selftest
run 0 $M4/selftest
grep -q "no labels, so no accuracy" $T/report/run.log \
    || { echo "firmware: the self-test without labels did not say so" >&2; exit 1; }

step "soft decision tree ($(basename "$tree_model")) on QEMU mps2-an386: self-test with its path, instructions beside the first model's"
# The same binaries around the tree artifact (build.rs reruns when MICRODISTILL_MODEL changes),
# copied to names of their own: footprint.sh reads the first model's copies made above.
tree=(env MICRODISTILL_MODEL="$tree_model" MICRODISTILL_VECTORS="$tree_vectors")
"${tree[@]}" cargo build --locked --release --bin selftest --bin bench
cp $M4/selftest $T/report/mps2-an386-tree.elf
cp $M4/bench $T/report/bench-tree.elf
run 0 $T/report/mps2-an386-tree.elf
cp $T/report/run.log $T/report/mps2-an386-tree.log
# The bench fails (exit 7) unless the inference left no room for more than depth dot products.
run 0 $T/report/bench-tree.elf
cp $T/report/run.log $T/report/bench-tree.log
"${tree[@]}" cargo build --locked --release --target thumbv7m-none-eabi --bin bench
run 0 $T/thumbv7m-none-eabi/release/bench
python3 tree_check.py "$tree_model" "$tree_vectors" $T/report/mps2-an386-tree.log \
    $T/report/bench-tree.log $T/report/bench.log

step "footprint (and the goals of issue 5)"
# Logs of earlier runs must not stand in for this one's: the nRF52840 images are not run.
rm -f $T/report/{nrf52840,nrf52840-sensor}.log
# Enforced: the RAM goal (met with about 16 % to spare). The code goal is printed only: it is
# met with about 3.6 % to spare, which a toolchain update could eat.
FOOTPRINT_ENFORCE=ram ./footprint.sh "$BIN" $T/report/{mps2-an386,netduinoplus2,nrf52840,microbit,nrf52840-sensor,mps2-an386-tree}.elf
