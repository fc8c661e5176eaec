//! The runtime's model behind the application's [`Classifier`] trait, with its buffers.

use crate::app::Classifier;
use runtime_nostd::{Error, Model};

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
