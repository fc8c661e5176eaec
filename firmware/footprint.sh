#!/usr/bin/env bash
# Footprint of self-test images: flash for code and for the embedded model and test vectors,
# static RAM, from the ELF's section and symbol tables.
# usage: footprint.sh LLVM_BIN_DIR ELF...
set -euo pipefail
bin=$1
shift
printf '%-16s %10s %10s %10s %10s %10s\n' image "flash" code model vectors "static RAM"
for elf in "$@"; do
    # llvm-size -A: "section size addr"; flash = what is loaded, RAM = .data + .bss + .uninit.
    read -r flash ram < <("$bin/llvm-size" -A "$elf" | awk '
        $1 ~ /^\.(vector_table|text|rodata|data|gnu\.sgstubs)$/ { f += $2 }
        $1 ~ /^\.(data|bss|uninit)$/ { r += $2 }
        END { print f, r }')
    # Sizes of the embedded statics (symbol names from src/embedded.rs).
    sym() { "$bin/llvm-nm" -S -C --radix=d "$elf" | awk -v s="$1::h" 'index($4, s) == 1 { n += $2 } END { print n + 0 }'; }
    model=$(sym microdistill_firmware::embedded::MODEL_BYTES)
    vectors=0
    for v in X_Q CLASS LOGITS LABEL; do
        vectors=$((vectors + $(sym "microdistill_firmware::embedded::$v")))
    done
    printf '%-16s %10d %10d %10d %10d %10d\n' "$(basename "$elf" .elf)" "$flash" \
        $((flash - model - vectors)) "$model" "$vectors" "$ram"
done
echo "(bytes; code = flash - model - vectors, and includes defmt's encoder and the SHA-256;"
echo " buffers for inference are on the stack: see each self-test's 'stack peak' line)"
