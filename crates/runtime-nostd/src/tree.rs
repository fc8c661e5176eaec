//! Soft decision tree student: validation at load and maximum-probability-path inference.

use crate::container::Container;
use crate::format::{
    Dtype, MAX_DEPTH, MIN_DEPTH, TREE_BIAS, TREE_LEAF_CLASS, TREE_LEAF_PROBS, TREE_WEIGHT,
    TREE_WEIGHT_SCALE,
};
use crate::kernels::selected as kernel;
use crate::model::{check_rows, tensor};
use crate::quant::{I32s, as_i8};
use crate::{Error, kernels::prep_words};

/// The path a tree inference took. Nodes are in heap order (children of n: 2n+1 left,
/// 2n+2 right); the leaf index, read as `depth` bits from the most significant, is the
/// sequence of turns (1 = right), so it doubles as the path bitmask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TreePath {
    /// Index of the reached leaf, `0..2^depth`.
    pub leaf: u16,
    /// The tree's depth (number of decisions taken).
    pub depth: u8,
}

impl TreePath {
    /// Whether the decision at `level` (0 = root) went right; `false` past the depth.
    pub fn went_right(&self, level: u32) -> bool {
        level < u32::from(self.depth) && (self.leaf >> (u32::from(self.depth) - 1 - level)) & 1 == 1
    }

    /// Heap index of the inner node visited at `level` (0 = root), or of the leaf when
    /// `level == depth`.
    pub fn node_at(&self, level: u32) -> usize {
        let level = level.min(u32::from(self.depth));
        let prefix = usize::from(self.leaf) >> (u32::from(self.depth) - level);
        (1usize << level) - 1 + prefix
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Tree<'a> {
    pub depth: u32,
    pub features: usize,
    classes: usize,
    weight: &'a [i8],
    bias: I32s<'a>,
    leaf_probs: &'a [u8],
    leaf_class: &'a [u8],
}

impl<'a> Tree<'a> {
    pub fn load(
        c: &Container<'a, '_>,
        depth: usize,
        features: usize,
        classes: usize,
    ) -> Result<Self, Error> {
        let depth = u32::try_from(depth).map_err(|_| Error::InvalidDepth)?;
        if !(MIN_DEPTH..=MAX_DEPTH).contains(&depth) {
            return Err(Error::InvalidDepth);
        }
        let leaves = 1usize << depth;
        let inner = leaves - 1;
        let get = |name: &str, dtype: Dtype, shape: &[usize]| {
            tensor(c.tensor(name).ok_or(Error::MissingTensor)?, dtype, shape)
        };
        let weight = as_i8(get(TREE_WEIGHT, Dtype::I8, &[inner, features])?);
        get(TREE_WEIGHT_SCALE, Dtype::F32, &[inner])?;
        let bias = I32s(get(TREE_BIAS, Dtype::I32, &[inner])?);
        let leaf_probs = get(TREE_LEAF_PROBS, Dtype::U8, &[leaves, classes])?;
        let leaf_class = get(TREE_LEAF_CLASS, Dtype::U8, &[leaves])?;
        check_rows(weight, features, bias)?;
        if leaf_class.iter().any(|&k| usize::from(k) >= classes) {
            return Err(Error::LeafClassRange);
        }
        Ok(Tree {
            depth,
            features,
            classes,
            weight,
            bias,
            leaf_probs,
            leaf_class,
        })
    }

    pub fn inner_nodes(&self) -> usize {
        (1usize << self.depth) - 1
    }

    pub fn leaf_probs(&self, leaf: usize) -> Option<&'a [u8]> {
        self.leaf_probs
            .get(leaf.checked_mul(self.classes)?..(leaf + 1).checked_mul(self.classes)?)
    }

    /// Walks the maximum-probability path: right iff `bias[n] + W[n]·q > 0`. Writes the
    /// leaf distribution into `logits` as `p − 128` (monotone, so the argmax is kept).
    /// One dot product per level, `depth × features` MACs: only the visited nodes' rows.
    pub fn run(
        &self,
        input: &[i8],
        scratch: &mut [u8],
        logits: &mut [i8],
    ) -> Result<(usize, TreePath), Error> {
        self.walk(input, scratch, logits, kernel::dot_rows)
    }

    /// `run` with the `dot_rows` kernel passed in (the unit tests count its calls).
    #[inline(always)]
    fn walk(
        &self,
        input: &[i8],
        scratch: &mut [u8],
        logits: &mut [i8],
        mut dot_rows: impl FnMut(&[i8], &[i8], &[u32], &mut [i32]) -> bool,
    ) -> Result<(usize, TreePath), Error> {
        let (prep, _) = crate::scratch::split(scratch, prep_words(self.features))
            .ok_or(Error::ScratchTooSmall)?;
        if !kernel::prepare(input, prep) {
            return Err(Error::ScratchTooSmall);
        }
        let f = self.features;
        let mut node = 0usize;
        for _ in 0..self.depth {
            let row = self
                .weight
                .get(node * f..(node + 1) * f)
                .ok_or(Error::WrongShape)?;
            let mut acc = [0i32];
            if !dot_rows(row, input, prep, &mut acc) {
                return Err(Error::ScratchTooSmall);
            }
            let right = acc[0].wrapping_add(self.bias.get(node)) > 0;
            node = 2 * node + 1 + usize::from(right);
        }
        let leaf = node - self.inner_nodes();
        let probs = self.leaf_probs(leaf).ok_or(Error::WrongShape)?;
        for (l, &p) in logits.iter_mut().zip(probs) {
            *l = (i16::from(p) - 128) as i8;
        }
        let class = usize::from(*self.leaf_class.get(leaf).ok_or(Error::WrongShape)?);
        // depth <= 10, so the leaf fits u16 and the depth u8.
        Ok((
            class,
            TreePath {
                leaf: leaf as u16,
                depth: self.depth as u8,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree of `depth` over `features` inputs with pseudo-random rows and biases (the byte
    /// buffers are returned too: the tree borrows them).
    fn bytes(
        depth: u32,
        features: usize,
        classes: usize,
        seed: u32,
    ) -> (Vec<i8>, Vec<u8>, Vec<u8>, Vec<u8>) {
        let mut x = seed | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        let (inner, leaves) = ((1usize << depth) - 1, 1usize << depth);
        let weight = (0..inner * features)
            .map(|_| (next() % 255) as i8 / 2)
            .collect();
        let bias = (0..inner)
            .flat_map(|_| ((next() % 4001) as i32 - 2000).to_le_bytes())
            .collect();
        let probs = (0..leaves * classes).map(|_| next() as u8).collect();
        let class = (0..leaves)
            .map(|_| (next() as usize % classes) as u8)
            .collect();
        (weight, bias, probs, class)
    }

    fn tree<'a>(
        depth: u32,
        features: usize,
        classes: usize,
        b: &'a (Vec<i8>, Vec<u8>, Vec<u8>, Vec<u8>),
    ) -> Tree<'a> {
        Tree {
            depth,
            features,
            classes,
            weight: &b.0,
            bias: I32s(&b.1),
            leaf_probs: &b.2,
            leaf_class: &b.3,
        }
    }

    /// A max-path inference does exactly `depth` dot products of one row each (the visited
    /// nodes', in path order): `depth × features` MACs, never all `2^depth − 1` rows; and
    /// the returned path is the one those accumulators' signs give.
    #[test]
    fn one_dot_product_per_level_along_the_returned_path() {
        for (depth, features, seed) in [(1, 5, 1), (3, 37, 2), (6, 784, 3), (10, 9, 4)] {
            let b = bytes(depth, features, 4, seed);
            let t = tree(depth, features, 4, &b);
            let mut scratch = vec![0u8; crate::scratch::tree_scratch_len(features)];
            for k in 0..8u32 {
                let input: Vec<i8> = (0..features)
                    .map(|i| ((i as u32 * 31 + k * 97) % 256) as u8 as i8)
                    .collect();
                let mut rows = Vec::new();
                let mut macs = 0;
                let mut logits = [0i8; 4];
                let (class, path) = t
                    .walk(&input, &mut scratch, &mut logits, |w, x, prep, acc| {
                        let node = (w.as_ptr() as usize - t.weight.as_ptr() as usize) / features;
                        rows.push((node, acc.len()));
                        macs += acc.len() * x.len();
                        kernel::dot_rows(w, x, prep, acc)
                    })
                    .unwrap();
                assert_eq!(macs, depth as usize * features);
                assert_eq!(rows.len(), depth as usize);
                assert!(rows.iter().all(|&(_, r)| r == 1));
                // The rows visited are the path's nodes, and each turn is its sign.
                for (level, &(node, _)) in rows.iter().enumerate() {
                    let level = level as u32;
                    assert_eq!(node, path.node_at(level));
                    let row = &t.weight[node * features..(node + 1) * features];
                    let acc: i32 = row
                        .iter()
                        .zip(&input)
                        .map(|(&w, &x)| i32::from(w) * i32::from(x))
                        .sum();
                    assert_eq!(path.went_right(level), acc + t.bias.get(node) > 0);
                }
                assert_eq!(
                    path.node_at(depth),
                    t.inner_nodes() + usize::from(path.leaf)
                );
                assert_eq!(class, usize::from(b.3[usize::from(path.leaf)]));
                // Uncounted, `run` gives the same.
                let mut again = [0i8; 4];
                assert_eq!(t.run(&input, &mut scratch, &mut again), Ok((class, path)));
                assert_eq!(again, logits);
            }
        }
    }
}
