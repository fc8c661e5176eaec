//! Deterministic cost of one inference under QEMU mps2-an386, the model's dense layers one by
//! one with each kernel (a tree: one node's dot product), and the whole `infer`.
//!
//! A tree's `infer` must cost `depth` dot products of one node row each (`depth × inputs`
//! MACs), not one per inner node: the run fails (`BENCH_CHECK`) unless its instructions beyond
//! `prepare` leave no room for one more node's dot product. Depth and input size come from the
//! parsed model.
//!
//! Run with `-icount shift=7` (ci.sh / README): QEMU then advances virtual time by exactly
//! 2^7 ns per instruction, and the FPGAIO counter ticks at 25 MHz of that time (40 ns), so
//! instructions = ticks × 40 / 128. `bench_mark` is called before and after each region so an
//! exact external instruction counter (a QEMU plugin) can cross-check the same regions.
#![no_std]
#![no_main]

use core::hint::black_box;
use microdistill_firmware::{board, boot, embedded, exit_code};
use runtime_nostd::kernels::{self, prep_words};
use runtime_nostd::{Kind, Model, Prediction};

/// MPS2 FPGAIO free-running counter (AN386 memory map, FPGAIO block at 0x4002_8000).
const FPGAIO_COUNTER: *const u32 = 0x4002_8018 as *const u32;

fn ticks() -> u32 {
    // SAFETY: a read-only device register of the MPS2 FPGA image, always mapped on this board.
    unsafe { FPGAIO_COUNTER.read_volatile() }
}

/// Marker for an external instruction counter; costs the same few instructions each call.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn bench_mark() {
    core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
}

/// Instructions spent in `f`, from the counter (the markers and counter reads included:
/// about a dozen instructions, negligible beside 10^4..10^5).
fn measure(f: impl FnOnce()) -> u32 {
    bench_mark();
    let t0 = ticks();
    f();
    let t1 = ticks();
    bench_mark();
    (t1.wrapping_sub(t0) as u64 * 40 / 128) as u32
}

/// `value / macs` with two decimals, for the log.
fn per_mac(insns: u32, macs: usize) -> (u32, u32) {
    let x100 = (insns as u64 * 100 + macs as u64 / 2) / macs.max(1) as u64;
    ((x100 / 100) as u32, (x100 % 100) as u32)
}

fn report(what: &str, insns: u32, macs: usize) {
    let (i, f) = per_mac(insns, macs);
    defmt::info!(
        "bench {=str}: {=u32} instructions, {=usize} MACs, {=u32}.{=u32:02} per MAC",
        what,
        insns,
        macs,
        i,
        f
    );
}

/// Whether runtime-nostd selected a kernel other than the reference for this build (on a
/// Cortex-M that is the SXTB16/SMLAD one), asked of the runtime rather than re-derived here.
fn dsp_selected() -> bool {
    type DotRows = fn(&[i8], &[i8], &[u32], &mut [i32]) -> bool;
    let selected: DotRows = kernels::selected::dot_rows;
    let reference: DotRows = kernels::reference::dot::dot_rows;
    selected as usize != reference as usize
}

/// Cost of a tree's node, measured with the selected kernel: `prepare` (unpacking the input,
/// once per inference) and one node's dot product on top of it.
struct NodeCost {
    prepare: u32,
    dot: u32,
}

/// Times `prepare` and one node row (node 0) of the tree with each kernel.
fn tree_node(offset: usize, cols: usize, x: &[i8], prep: &mut [u32], acc: &mut [i32]) -> NodeCost {
    let w = embedded::weights(offset, cols);
    defmt::info!("tree node 0: {=usize} -> 1", cols);
    if dsp_selected() {
        let n = measure(|| {
            let ok = kernels::reference::dot::prepare(black_box(x), prep)
                && kernels::reference::dot::dot_rows(black_box(w), x, prep, acc);
            black_box((ok, &acc));
        });
        report("kernels::reference::dot", n, cols);
    }
    let prepare = measure(|| {
        black_box(kernels::selected::prepare(black_box(x), prep));
    });
    let both = measure(|| {
        let ok = kernels::selected::prepare(black_box(x), prep)
            && kernels::selected::dot_rows(black_box(w), x, prep, acc);
        black_box((ok, &acc));
    });
    report(kernels::SELECTED_NAME, both, cols);
    NodeCost {
        prepare,
        dot: both.saturating_sub(prepare),
    }
}

/// A tree's whole inference against its node cost: `depth` levels of `input_len` MACs each
/// (`Model::macs`), a path of `depth` decisions, and instructions beyond `prepare` fewer than
/// `depth + 1` node dot products. Logs the breakdown; `false` if any of it fails.
fn check_tree(model: &Model<'_>, infer: u32, p: &Prediction, node: &NodeCost) -> bool {
    let depth = model.num_layers_or_depth();
    let features = model.input_len();
    let nodes = (1usize << depth) - 1;
    let walk = infer.saturating_sub(node.prepare) as usize;
    let dots = depth * node.dot as usize;
    defmt::info!(
        "bench tree: depth {=usize} x {=usize} inputs = {=usize} MACs per inference ({=usize} with all {=usize} inner nodes)",
        depth,
        features,
        model.macs(),
        nodes * features,
        nodes
    );
    let (i, f) = per_mac(node.dot, features);
    defmt::info!(
        "bench tree: infer = prepare {=u32} + {=usize} x node dot product {=u32} ({=u32}.{=u32:02} per MAC) + {=i32} other instructions",
        node.prepare,
        depth,
        node.dot,
        i,
        f,
        walk as i32 - dots as i32
    );
    let path_depth = p.path.map_or(0, |path| usize::from(path.depth));
    let ok = model.macs() == depth * features
        && path_depth == depth
        && walk < (depth + 1) * node.dot as usize;
    if ok {
        defmt::info!(
            "bench tree: {=usize} dot products per inference, as the path's {=usize} decisions: OK",
            depth,
            path_depth
        );
    } else {
        defmt::error!(
            "bench tree: a {=usize}-decision path cost {=usize} instructions beyond prepare, room for more than {=usize} node dot products",
            path_depth,
            walk,
            depth
        );
    }
    ok
}

#[cortex_m_rt::entry]
fn main() -> ! {
    let verified = boot::verified_model();
    let model = boot::model(&verified);
    let x = &embedded::vectors().x_q[..embedded::FEATURES];
    let mut prep = [0u32; prep_words(embedded::MAX_DENSE_COLS)];
    let mut acc = [0i32; embedded::MAX_DENSE_ROWS];
    // Inputs of the right length; the kernels' instruction counts do not depend on values.
    let input = |cols: usize| &embedded::vectors().x_q[..cols];

    for (k, &(offset, rows, cols)) in embedded::DENSE_LAYERS.iter().enumerate() {
        let w = embedded::weights(offset, rows * cols);
        let (x, acc) = (input(cols), &mut acc[..rows]);
        defmt::info!("layer {=usize}: {=usize} -> {=usize}", k, cols, rows);
        let n = measure(|| {
            let ok = kernels::reference::dot::prepare(black_box(x), &mut prep)
                && kernels::reference::dot::dot_rows(black_box(w), x, &prep, acc);
            black_box((ok, &acc));
        });
        report("kernels::reference::dot", n, rows * cols);
        if dsp_selected() {
            let n = measure(|| {
                let ok = kernels::selected::prepare(black_box(x), &mut prep)
                    && kernels::selected::dot_rows(black_box(w), x, &prep, acc);
                black_box((ok, &acc));
            });
            report(kernels::SELECTED_NAME, n, rows * cols);
        }
    }

    let node = match (model.kind(), embedded::TREE_WEIGHT) {
        (Kind::Tree, Some((offset, _, cols))) => Some(tree_node(
            offset,
            cols,
            input(cols),
            &mut prep,
            &mut acc[..1],
        )),
        _ => None,
    };

    let mut scratch = [0u8; embedded::SCRATCH_LEN];
    let mut logits = [0i8; embedded::CLASSES];
    let mut result = Err(runtime_nostd::Error::InputLength);
    let n = measure(|| result = model.infer(black_box(x), &mut scratch, &mut logits));
    defmt::info!(
        "bench infer: runtime-nostd selected {=str} for this build",
        kernels::SELECTED_NAME
    );
    report("infer, whole model", n, model.macs());
    match (result, node) {
        (Ok(p), Some(node)) if !check_tree(model, n, &p, &node) => {
            board::exit(exit_code::BENCH_CHECK)
        }
        (Ok(_), _) => board::exit(exit_code::SUCCESS),
        (Err(e), _) => {
            defmt::error!("inference error: {}", e);
            board::exit(exit_code::INFER_ERROR)
        }
    }
}
