#!/usr/bin/env bash
# Prints the .text size of the probe with each header parser (thumbv7em-none-eabihf, opt "s").
set -euo pipefail
cd "$(dirname "$0")"
SIZE=$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin/llvm-size
for f in baseline scanner serde runtime; do
  cargo build -q --release --features "$f" --target-dir "target/$f"
  echo "$f: $("$SIZE" -A "target/$f/thumbv7em-none-eabihf/release/probe" | awk '$1==".text"{print $2}') bytes of .text"
done
