#!/usr/bin/env python3
"""The application end to end under QEMU: every test vector's input goes to the `uart-app`
image over UART0 (stream format of src/app/stream.rs), each class comes back as one byte, and
must equal the class the host runtime predicted. UART0 is a QEMU pipe chardev (two FIFOs);
the defmt log (semihosting, QEMU's stdout) is decoded by defmt-print.
usage: uart_e2e.py ELF VECTORS.safetensors [TIMEOUT_S]"""
import json, os, struct, subprocess, sys, tempfile, threading

FRAME_START, END_OF_STREAM = 0x46, 0x51


def tensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header, data = json.loads(raw[8 : 8 + n]), raw[8 + n :]
    get = lambda name: (header[name]["shape"], data[slice(*header[name]["data_offsets"])])
    return get("x_q"), get("class")


def main():
    elf, vectors = sys.argv[1], sys.argv[2]
    timeout = int(sys.argv[3]) if len(sys.argv) > 3 else 60
    ((n, f), x_q), (_, classes) = tensors(vectors)
    stream = bytearray()
    for i in range(n):
        frame = x_q[i * f : (i + 1) * f]
        stream += bytes([FRAME_START, f >> 8, f & 0xFF]) + frame + bytes([sum(frame) & 0xFF])
    stream.append(END_OF_STREAM)
    with tempfile.TemporaryDirectory() as tmp:
        fifo = os.path.join(tmp, "uart0")
        for end in (".in", ".out"):
            os.mkfifo(fifo + end)
        qemu = ["timeout", str(timeout), "qemu-system-arm", "-machine", "mps2-an386", "-cpu", "cortex-m4",
                "-nographic", "-monitor", "none", "-chardev", f"pipe,id=uart0,path={fifo}",
                "-serial", "chardev:uart0", "-semihosting-config", "enable=on,target=native",
                "-kernel", elf]
        proc = subprocess.Popen(qemu, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        decoder = subprocess.Popen(["defmt-print", "-e", elf], stdin=proc.stdout)
        got = bytearray()

        def collect():
            with open(os.open(fifo + ".out", os.O_RDWR), "rb", buffering=0) as out:
                while len(got) < n and (chunk := out.read(n - len(got))):
                    got.extend(chunk)

        def send():
            # O_RDWR: opening a FIFO this way never blocks, even if QEMU failed to start.
            fd = os.open(fifo + ".in", os.O_RDWR)
            os.write(fd, stream)

        # Daemon threads: if QEMU dies or hangs (then `timeout` ends it), nothing waits on them.
        reader = threading.Thread(target=collect, daemon=True)
        reader.start()
        threading.Thread(target=send, daemon=True).start()
        returncode = proc.wait()
        reader.join(timeout=5)
        decoder.wait()
    print(f"uart_e2e: QEMU exit {returncode}; {len(got)} classes back for {n} frames")
    answer = lambda i: got[i] if i < len(got) else None
    bad = [(i, classes[i], answer(i)) for i in range(n) if answer(i) != classes[i]]
    for i, want, have in bad[:10]:
        print(f"uart_e2e: frame {i}: host runtime class {want}, firmware answered {have}")
    ok = returncode == 0 and len(got) == n and not bad
    print(f"uart_e2e: {n - len(bad)}/{n} classes over UART equal the host runtime's: {'PASSED' if ok else 'FAILED'}")
    sys.exit(0 if ok else 1)


main()
