//! The soft decision tree's hard path as ONNX: one integer MatMul for all node responses,
//! then per level `GatherElements → Greater(0) → Cast → node = 2·node + 1 + right`.
//! Integer throughout after `x_q`, so it matches runtime-nostd exactly given the same `x_q`.

use runtime_nostd::format::onnx as names;
use tract_onnx::pb::tensor_proto::DataType;

use crate::onnx_pb::*;
use crate::quantized::QuantTree;

/// Wires the tree after `x_q`; produces `class` int64 `[N]`, `leaf_probs` u8 `[N, C]` and
/// `leaf` int64 `[N]` (`names::TREE_OUTPUTS`).
pub fn tree(g: &mut Graph, t: &QuantTree, x_q: &str, f: usize, c: usize) {
    let inner = t.bias.len();
    let mut wt = vec![0i8; inner * f];
    for (n, row) in t.weight.chunks_exact(f).enumerate() {
        for (i, &w) in row.iter().enumerate() {
            wt[i * inner + n] = w;
        }
    }
    let w = g.init(i8_tensor("tree.weight_t", &[f, inner], &wt));
    let b = g.init(i32_tensor("tree.bias", &[inner], &t.bias));
    let zero = g.init(i32_tensor("tree.zero", &[], &[0]));
    // Node arithmetic in int32: tract-onnx maps int64 casts to its symbolic TDim type.
    let two = g.init(i32_tensor("tree.two", &[], &[2]));
    let one = g.init(i32_tensor("tree.one", &[], &[1]));
    let root = g.init(i32_tensor("tree.root", &[1], &[0]));
    let first_leaf = g.init(i32_tensor("tree.first_leaf", &[], &[inner as i32]));
    let flat = g.init(i64_tensor("tree.flat", &[1], &[-1]));
    let probs = g.init(u8_tensor("tree.leaf_probs", &[inner + 1, c], &t.leaf_probs));
    let classes = g.init(u8_tensor("tree.leaf_class", &[inner + 1], &t.leaf_class));
    let v = g.node("MatMulInteger", &[x_q, &w], "tree.acc_nobias", vec![]);
    let acc = g.node("Add", &[&v, &b], "tree.acc", vec![]);
    // Level 0 reads column 0 for every row: Gather keeps the [N, 1] shape GatherElements uses.
    let mut resp = g.node(
        "Gather",
        &[&acc, &root],
        "tree.level0.acc",
        vec![attr_int("axis", 1)],
    );
    let mut node = String::new();
    for level in 0..t.depth {
        if level > 0 {
            resp = g.node(
                "GatherElements",
                &[&acc, &node],
                &format!("tree.level{level}.acc"),
                vec![attr_int("axis", 1)],
            );
        }
        let gt = g.node(
            "Greater",
            &[&resp, &zero],
            &format!("tree.level{level}.gt"),
            vec![],
        );
        let right = g.node(
            "Cast",
            &[&gt],
            &format!("tree.level{level}.right"),
            vec![cast_to(DataType::Int32)],
        );
        let base = if level == 0 {
            one.clone()
        } else {
            let d = g.node(
                "Mul",
                &[&node, &two],
                &format!("tree.level{level}.double"),
                vec![],
            );
            g.node(
                "Add",
                &[&d, &one],
                &format!("tree.level{level}.left"),
                vec![],
            )
        };
        node = g.node(
            "Add",
            &[&base, &right],
            &format!("tree.level{}.node", level + 1),
            vec![],
        );
    }
    let leaf2d = g.node("Sub", &[&node, &first_leaf], "tree.leaf2d", vec![]);
    let leaf = g.node("Reshape", &[&leaf2d, &flat], "tree.leaf_i32", vec![]);
    g.node(
        "Cast",
        &[&leaf],
        names::LEAF,
        vec![cast_to(DataType::Int64)],
    );
    let cls = g.node(
        "Gather",
        &[&classes, &leaf],
        "tree.class_u8",
        vec![attr_int("axis", 0)],
    );
    g.node(
        "Cast",
        &[&cls],
        names::CLASS,
        vec![cast_to(DataType::Int64)],
    );
    g.node(
        "Gather",
        &[&probs, &leaf],
        names::LEAF_PROBS,
        vec![attr_int("axis", 0)],
    );
}
