//! Under QEMU mps2-an386 (Cortex-M4F): the DSP `dot_rows` against the reference on random
//! shapes, the tiny fixtures' hand-computed outputs, an MLP's, a tree's and a CNN's logits
//! against the host runtime's, and `bench_mark` calls around a 784→128 layer and whole
//! inferences for `/work/shared/tools/qemu-insncount`.
//! Exits through semihosting with 0 when everything matched, 1 otherwise.
#![no_std]
#![no_main]

use core::fmt::Write;
use core::hint::black_box;
use cortex_m_rt::entry;
use runtime_nostd::format::cnn::{Layer, Padding};
use runtime_nostd::kernels::{SELECTED_NAME, prep_words, reference::dot as reference, selected};
use runtime_nostd::{Model, Prediction, TreePath, cnn_scratch_len};

mod semihosting;
use semihosting::{Out, exit};

const BENCH_ROWS: usize = 128;
const BENCH_COLS: usize = 784;
static mut BENCH_W: [i8; BENCH_ROWS * BENCH_COLS] = [0; BENCH_ROWS * BENCH_COLS];

/// The CNN of build.rs (`CNN_LAYERS` there, checked against this list at run time), here to
/// size the scratch in a `const` as a firmware would.
const CNN_LAYERS: [Layer; 7] = [
    Layer::Conv {
        out: 8,
        kernel: 3,
        stride: 1,
        padding: Padding::Same,
    },
    Layer::MaxPool(2),
    Layer::DwConv {
        kernel: 3,
        stride: 1,
        padding: Padding::Same,
    },
    Layer::Conv {
        out: 16,
        kernel: 1,
        stride: 1,
        padding: Padding::Valid,
    },
    Layer::MaxPool(2),
    Layer::Gap,
    Layer::Dense(10),
];
const CNN_SCRATCH: usize = cnn_scratch_len(&[1, 28, 28], &CNN_LAYERS);
const SCRATCH_LEN: usize = if CNN_SCRATCH > 4096 {
    CNN_SCRATCH
} else {
    4096
};
static mut SCRATCH: [u8; SCRATCH_LEN] = [0; SCRATCH_LEN];

static TINY_MLP: &[u8] = include_bytes!("../../fuzz/seeds/tiny_mlp.safetensors");
static TINY_TREE: &[u8] = include_bytes!("../../fuzz/seeds/tiny_tree.safetensors");
static MLP: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/mlp.safetensors"));
static TREE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/tree.safetensors"));
static CNN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cnn.safetensors"));
/// `VECTORS` inputs of 784 int8 values and, per model, the host runtime's 10 logits + class.
const VECTORS: usize = 8;
static INPUTS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/inputs.bin"));
static MLP_EXPECTED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/mlp_expected.bin"));
static TREE_EXPECTED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/tree_expected.bin"));
static CNN_EXPECTED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cnn_expected.bin"));

/// The device's inference of every vector equals the host's (build.rs), logits and class.
fn matches_host(name: &str, m: &Model, expected: &[u8], out: &mut Out) -> bool {
    // SAFETY: single-threaded, no interrupt uses SCRATCH.
    let scratch = unsafe { &mut *core::ptr::addr_of_mut!(SCRATCH) };
    let mut input = [0i8; BENCH_COLS];
    for v in 0..VECTORS {
        for (x, &b) in input.iter_mut().zip(&INPUTS[v * BENCH_COLS..]) {
            *x = b as i8;
        }
        let mut logits = [0i8; 10];
        let want = &expected[v * 11..v * 11 + 11];
        let got = m.infer(&input, scratch, &mut logits);
        for (i, (&g, &w)) in logits.iter().zip(want).enumerate() {
            if g != w as i8 {
                let _ = writeln!(
                    out,
                    "FAIL {name} vector {v} logit {i}: actual {g} expected {}",
                    w as i8
                );
                return false;
            }
        }
        if got.map(|p| p.class) != Ok(usize::from(want[10])) {
            let _ = writeln!(
                out,
                "FAIL {name} vector {v}: {got:?}, host class {}",
                want[10]
            );
            return false;
        }
    }
    let _ = writeln!(
        out,
        "{name}: {VECTORS} vectors equal the host runtime's logits"
    );
    true
}

/// Marker for the instruction counter: its address is looked up by name.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn bench_mark() {
    // SAFETY: a nop has no effect; it keeps the function from being merged or removed.
    unsafe { core::arch::asm!("nop", options(nomem, nostack, preserves_flags)) }
}

const PAINT: u32 = 0xa5a5_5a5a;
/// Bytes below the caller's stack pointer that `paint_stack` fills (RAM is 4 MiB).
const PAINT_SPAN: usize = 32 * 1024;
/// Left untouched right below the stack pointer: room for the painting function itself.
const PAINT_GAP: usize = 256;

fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads SP into a register; no memory access, no flags.
    unsafe {
        core::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags))
    };
    sp
}

/// Fills the unused stack below the caller with a pattern, to find later how deep a call
/// went. Returns the caller's stack pointer.
#[inline(never)]
fn paint_stack() -> usize {
    let sp = stack_pointer();
    let mut p = sp - PAINT_SPAN;
    while p < sp - PAINT_GAP {
        // SAFETY: the region is free stack below this frame (the gap covers this function's
        // own frame) inside the 4 MiB RAM of mps2-an386; nothing lives there yet.
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
    sp
}

/// Bytes of stack below `sp` that were written since `paint_stack`.
#[inline(never)]
fn stack_used(sp: usize) -> usize {
    let mut p = sp - PAINT_SPAN;
    // SAFETY: reads back the painted region (plain u32 loads of RAM).
    while p < sp - PAINT_GAP && unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    sp - p
}

struct Rng(u32);
impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
    fn i8(&mut self) -> i8 {
        self.next() as i8
    }
}

/// DSP vs reference on one shape; prints the first mismatch.
fn check(rows: usize, input: &[i8], weights: &[i8], prep: &mut [u32], out: &mut Out) -> bool {
    let mut got = [0i32; 16];
    let mut want = [0i32; 16];
    let ok = selected::prepare(input, prep)
        && selected::dot_rows(weights, input, prep, &mut got[..rows])
        && reference::dot_rows(weights, input, &[], &mut want[..rows]);
    if !ok {
        let _ = writeln!(out, "FAIL rows {rows} cols {}: refused", input.len());
        return false;
    }
    for r in 0..rows {
        if got[r] != want[r] {
            let _ = writeln!(
                out,
                "FAIL rows {rows} cols {} index {r}: actual {} expected {}",
                input.len(),
                got[r],
                want[r]
            );
            return false;
        }
    }
    true
}

fn expect_prediction(
    name: &str,
    bytes: &[u8],
    input: &[i8],
    logits_want: &[i8],
    pred: Prediction,
    out: &mut Out,
) -> bool {
    let m = match Model::from_bytes(bytes) {
        Ok(m) => m,
        Err(e) => {
            let _ = writeln!(out, "FAIL {name}: {e}");
            return false;
        }
    };
    let mut logits = [0i8; 16];
    // SAFETY: single-threaded, no interrupt uses SCRATCH.
    let scratch = unsafe { &mut *core::ptr::addr_of_mut!(SCRATCH) };
    let got = m.infer(input, scratch, &mut logits[..m.num_classes()]);
    let ok = got == Ok(pred) && &logits[..m.num_classes()] == logits_want;
    if !ok {
        let _ = writeln!(
            out,
            "FAIL {name}: {got:?} logits {:?}",
            &logits[..m.num_classes()]
        );
    }
    ok
}

#[entry]
fn main() -> ! {
    let mut out = Out;
    let _ = writeln!(out, "kernel: {SELECTED_NAME}");
    let mut ok = true;
    let mut rng = Rng(0x9e37_79b9);
    let mut prep = [0u32; 2 * (BENCH_COLS / 4)];
    let mut input = [0i8; BENCH_COLS];
    let mut weights = [0i8; 16 * 200];

    // Random shapes: lengths 0, 1, 3, non-multiples of 4, odd and even group counts.
    let mut trials = 0;
    for round in 0..300 {
        let rows = round % 11;
        let cols = match round % 7 {
            0 => 0,
            1 => 1,
            2 => 3,
            3 => 4 * (rng.next() as usize % 20) + 1 + rng.next() as usize % 3,
            _ => rng.next() as usize % 200,
        };
        for x in &mut input[..cols] {
            *x = rng.i8();
        }
        for w in &mut weights[..rows * cols] {
            *w = rng.i8().max(-127);
        }
        ok &= check(
            rows,
            &input[..cols],
            &weights[..rows * cols],
            &mut prep,
            &mut out,
        );
        trials += 1;
    }
    // Extremes: every product at its largest magnitude.
    for (w, x) in [(-127i8, -128i8), (127, -128), (127, 127)] {
        input.fill(x);
        weights.fill(w);
        ok &= check(16, &input[..200], &weights[..16 * 200], &mut prep, &mut out);
        trials += 1;
    }
    let _ = writeln!(out, "dot_rows: {trials} shapes compared");

    // SAFETY: single-threaded; BENCH_W is only used here.
    let bench_w = unsafe { &mut *core::ptr::addr_of_mut!(BENCH_W) };
    for w in bench_w.iter_mut() {
        *w = rng.i8().max(-127);
    }
    for x in input.iter_mut() {
        *x = rng.i8();
    }
    let sp = paint_stack();
    let mlp = Model::from_bytes(black_box(MLP));
    let parse_mlp = stack_used(sp);
    let sp = paint_stack();
    let tree = Model::from_bytes(black_box(TREE));
    let parse_tree = stack_used(sp);
    let sp = paint_stack();
    let cnn = Model::from_bytes(black_box(CNN));
    let parse_cnn = stack_used(sp);
    let _ = writeln!(
        out,
        "stack peak of from_bytes: mlp {parse_mlp} B, tree {parse_tree} B, cnn {parse_cnn} B"
    );
    let (Ok(mlp), Ok(tree), Ok(cnn)) = (mlp, tree, cnn) else {
        let _ = writeln!(
            out,
            "FAIL: bench artifacts rejected: {:?} {:?} {:?}",
            mlp.err(),
            tree.err(),
            cnn.err()
        );
        exit(1);
    };
    // SAFETY: single-threaded, no interrupt uses SCRATCH.
    let scratch = unsafe { &mut *core::ptr::addr_of_mut!(SCRATCH) };
    let mut acc_dsp = [0i32; BENCH_ROWS];
    let mut acc_ref = [0i32; BENCH_ROWS];
    let (mut l1, mut l2, mut l3) = ([0i8; 10], [0i8; 10], [0i8; 10]);

    // Marks: A prepare B dsp dot_rows C reference dot_rows D MLP inference E (stack probe) F
    // tree inference G (stack probe) H CNN inference I.
    bench_mark();
    let a = selected::prepare(&input, &mut prep[..prep_words(BENCH_COLS)]);
    bench_mark();
    let b = selected::dot_rows(bench_w, &input, &prep, &mut acc_dsp);
    bench_mark();
    let c = reference::dot_rows(bench_w, &input, &[], &mut acc_ref);
    bench_mark();
    let p_mlp = mlp.infer(&input, scratch, &mut l1);
    bench_mark();
    let sp = paint_stack();
    let _ = black_box(mlp.infer(&input, scratch, &mut l1));
    let _ = writeln!(out, "stack peak of infer (mlp): {} B", stack_used(sp));
    bench_mark();
    let p_tree = tree.infer(&input, scratch, &mut l2);
    bench_mark();
    let sp = paint_stack();
    let _ = black_box(cnn.infer(&input, scratch, &mut l3));
    let _ = writeln!(out, "stack peak of infer (cnn): {} B", stack_used(sp));
    bench_mark();
    let p_cnn = cnn.infer(&input, scratch, &mut l3);
    bench_mark();

    if !(a && b && c) || acc_dsp != acc_ref {
        let _ = writeln!(out, "FAIL 784x128 layer differs");
        ok = false;
    }
    let _ = writeln!(
        out,
        "mlp 784-128-10: {p_mlp:?} macs {} scratch {}",
        mlp.macs(),
        mlp.scratch_len()
    );
    let _ = writeln!(
        out,
        "tree d6 x 784: {p_tree:?} macs {} scratch {}",
        tree.macs(),
        tree.scratch_len()
    );
    let _ = writeln!(
        out,
        "cnn 1x28x28: {p_cnn:?} macs {} scratch {}",
        cnn.macs(),
        cnn.scratch_len()
    );
    let same_layers = cnn.cnn_plan().is_some_and(|p| p.layers() == CNN_LAYERS);
    if !same_layers || cnn.scratch_len() != CNN_SCRATCH {
        let _ = writeln!(out, "FAIL cnn: build.rs's layers differ from CNN_LAYERS");
        ok = false;
    }
    ok &= p_mlp.is_ok() && p_tree.is_ok() && p_cnn.is_ok();
    ok &= matches_host("mlp 784-128-10", &mlp, MLP_EXPECTED, &mut out);
    ok &= matches_host("tree d6", &tree, TREE_EXPECTED, &mut out);
    ok &= matches_host("cnn 1x28x28", &cnn, CNN_EXPECTED, &mut out);

    ok &= expect_prediction(
        "tiny_mlp",
        TINY_MLP,
        &[10, -20, 30, 5],
        &[35, 15],
        Prediction {
            class: 0,
            path: None,
        },
        &mut out,
    );
    let path = Some(TreePath { leaf: 1, depth: 2 });
    ok &= expect_prediction(
        "tiny_tree",
        TINY_TREE,
        &[10, -20, 30, 5],
        &[-118, 72, -83],
        Prediction { class: 1, path },
        &mut out,
    );

    let _ = writeln!(out, "{}", if ok { "PASS" } else { "FAIL" });
    exit(if ok { 0 } else { 1 })
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let _ = writeln!(Out, "PANIC {info}");
    exit(101)
}
