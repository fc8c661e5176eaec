//! The runtime's model behind the application's [`Classifier`] trait, with its buffers.

use crate::app::Classifier;
use runtime_nostd::{Error, Model, TreePath};

/// A parsed model plus the scratch and logits buffers `infer` needs (the caller owns them,
/// so their size and place — stack or static — is the board's choice).
pub struct RuntimeClassifier<'m, 'b> {
    pub model: Model<'m>,
    scratch: &'b mut [u8],
    logits: &'b mut [i8],
}

impl<'m, 'b> RuntimeClassifier<'m, 'b> {
    /// Fails with `ScratchTooSmall` / `LogitsLength` now rather than at the first frame.
    pub fn new(
        model: Model<'m>,
        scratch: &'b mut [u8],
        logits: &'b mut [i8],
    ) -> Result<Self, Error> {
        if scratch.len() < model.scratch_len() {
            return Err(Error::ScratchTooSmall);
        }
        let logits = logits
            .get_mut(..model.num_classes())
            .ok_or(Error::LogitsLength)?;
        Ok(Self {
            model,
            scratch,
            logits,
        })
    }

    /// The int8 logits of the last `classify` (MLP; a tree's leaf distribution − 128).
    pub fn logits(&self) -> &[i8] {
        self.logits
    }
}

impl Classifier for RuntimeClassifier<'_, '_> {
    type Error = Error;

    fn input_len(&self) -> usize {
        self.model.input_len()
    }

    fn classify(&mut self, input: &[i8]) -> Result<u8, Error> {
        let p = self.model.infer(input, self.scratch, self.logits)?;
        // The format caps classes at 256 (runtime_nostd::format::MAX_CLASSES): always fits.
        Ok(u8::try_from(p.class).unwrap_or(u8::MAX))
    }
}

/// Logs the maximum-probability path a tree inference took (`Prediction::path`): one line
/// per level (the inner node's heap index and the turn, right iff `w·x + b > 0`), then the
/// leaf, its heap index, class and stored probability of that class (0..=255). `ci.sh`
/// (`tree_check.py`) reads these lines back and checks them against the artifact's depth.
pub fn log_tree_path(model: &Model<'_>, vector: usize, path: &TreePath, class: usize) {
    let depth = u32::from(path.depth);
    info!(
        "tree path of vector {=usize}: depth {=u32}, {=usize} inputs per node",
        vector,
        depth,
        model.input_len()
    );
    for level in 0..depth {
        info!(
            "  level {=u32}: node {=usize} -> {=str}",
            level,
            path.node_at(level),
            if path.went_right(level) {
                "right"
            } else {
                "left"
            }
        );
    }
    let leaf = usize::from(path.leaf);
    let p = model
        .leaf_probs(leaf)
        .and_then(|probs| probs.get(class).copied())
        .unwrap_or(0);
    info!(
        "  leaf {=usize} (node {=usize}): class {=usize} ({=str}), p {=u8}/255",
        leaf,
        path.node_at(depth),
        class,
        model.class_name(class).unwrap_or("?"),
        p
    );
}
