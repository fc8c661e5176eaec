#!/usr/bin/env bash
# Footprint of self-test images: flash for code and for the embedded model and test vectors,
# static RAM, from the ELF's section and symbol tables; with the image's QEMU log next to it
# (IMAGE.log, as ci.sh keeps it), its measured stack peaks and the goals of issue 5:
#   code <= 16 KiB of flash beyond the model bytes (and the test vectors);
#   RAM  <= 4 KiB beyond the activation buffers = static RAM + deepest stack peak - scratch
#          (the scratch `Model::infer` gets holds the prepared input and hidden activations;
#          the 10-byte logits buffer is counted as RAM, not subtracted).
# usage: footprint.sh LLVM_BIN_DIR ELF...
# FOOTPRINT_ENFORCE="code ram" (or either) exits 1 when that goal is missed; unset, it only
# prints.
set -euo pipefail
bin=$1
shift
CODE_GOAL=$((16 * 1024))
RAM_GOAL=$((4 * 1024))
enforce=" ${FOOTPRINT_ENFORCE:-} "
status=0

printf '%-16s %8s %8s %8s %8s %8s %13s %8s %8s\n' image flash code model vectors \
    "static" "stack peak" scratch "RAM+"
goals=()
for elf in "$@"; do
    name=$(basename "$elf" .elf)
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
    code=$((flash - model - vectors))
    # The self-test's own lines: "... scratch N B" and "stack peak: A B while hashing and
    # parsing, B B while inferring".
    log=${elf%.elf}.log
    peaks="(not run)" scratch="-" beyond="-"
    if [ -f "$log" ]; then
        scratch=$(sed -n 's/.*, scratch \([0-9]*\) B$/\1/p' "$log" | head -n1)
        read -r boot infer < <(sed -n 's/.*stack peak: \([0-9]*\) B while hashing and parsing, \([0-9]*\) B while inferring.*/\1 \2/p' "$log" | head -n1)
        if [ -n "$scratch" ] && [ -n "${boot:-}" ]; then
            peaks="$boot / $infer"
            beyond=$((ram + (boot > infer ? boot : infer) - scratch))
        fi
    fi
    printf '%-16s %8d %8d %8d %8d %8d %13s %8s %8s\n' "$name" "$flash" "$code" "$model" \
        "$vectors" "$ram" "$peaks" "$scratch" "$beyond"

    verdict() { # verdict WHAT VALUE GOAL KEY
        if [ "$2" -le "$3" ]; then
            goals+=("$name: $1 $2 B <= $3 B: met (margin $(($3 - $2)) B)")
        else
            goals+=("$name: $1 $2 B > $3 B: MISSED by $(($2 - $3)) B")
            if [[ "$enforce" == *" $4 "* ]]; then status=1; fi
        fi
    }
    verdict "code beyond the model" "$code" "$CODE_GOAL" code
    if [ "$beyond" != "-" ]; then
        verdict "RAM beyond the activation buffers" "$beyond" "$RAM_GOAL" ram
    fi
done
echo "(bytes; code = flash - model - vectors: vector table, defmt's encoder, SHA-256, parser,"
echo " kernels, self-test; stack peak = boot (hash + parse) / inference, painted stack, from"
echo " the image's QEMU log; RAM+ = static + deepest stack peak - scratch)"
echo "goals of issue 5 (code <= 16 KiB beyond the model, RAM <= 4 KiB beyond the activations):"
printf '  %s\n' "${goals[@]}"
exit "$status"
