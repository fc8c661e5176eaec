#!/usr/bin/env bash
# Cargo runner (.cargo/config.toml): `cargo run` ends here with the ELF path.
# An RTT build goes to a real board through probe-rs; a semihosting build runs under QEMU,
# on the machine its memory map was linked for, always under a timeout. Exit status = the
# firmware's own (semihosting exit), 124 on timeout.
set -uo pipefail
elf="$1"
if grep -q _SEGGER_RTT "$elf"; then
    exec probe-rs run --chip "${PROBE_RS_CHIP:-nRF52840_xxAA}" "$elf"
fi
# The board comes from the image's own memory map, not its file name.
stack_top=$(readelf -sW "$elf" | awk '$NF == "_stack_start" { print $2 }')
if readelf -lW "$elf" | grep -q 'LOAD .* 0x08000000'; then
    machine=netduinoplus2 cpu=cortex-m4 # STM32 flash address
elif [ "$stack_top" = 20004000 ]; then
    machine=microbit cpu=cortex-m0 # 16 KB of RAM: the nRF51822 map
else
    machine=mps2-an386 cpu=cortex-m4
fi
# The benchmark counts instructions through virtual time: QEMU must run it with -icount.
if grep -q bench_mark "$elf" && [[ "${QEMU_EXTRA:-}" != *icount* ]]; then
    QEMU_EXTRA="${QEMU_EXTRA:-} -icount shift=7"
fi
# Overrides, e.g. a thumbv6m (Cortex-M0) image linked for mps2-an386 runs on that M4 board.
machine=${QEMU_MACHINE:-$machine} cpu=${QEMU_CPU:-$cpu}
echo "run.sh: $(basename "$elf") on QEMU $machine" >&2
decode=(defmt-print -e "$elf")
command -v defmt-print >/dev/null || { echo "run.sh: defmt-print missing (ci.sh installs it)" >&2; exit 127; }
timeout "${QEMU_TIMEOUT:-120}" qemu-system-arm -machine "$machine" -cpu "$cpu" -nographic \
    -monitor none -serial none -semihosting-config enable=on,target=native \
    ${QEMU_EXTRA:-} -kernel "$elf" | "${decode[@]}"
status=${PIPESTATUS[0]}
exit "$status"
