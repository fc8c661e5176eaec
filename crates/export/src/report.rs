//! What an export measured: saved as `<stem>.export.json` and printed as a short table.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// Accuracies on the labelled evaluation set, in percent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accuracy {
    pub float: f64,
    /// int8, run by runtime-nostd on the host.
    pub int8_runtime: f64,
    /// int8, the ONNX graph run by tract.
    pub int8_tract: f64,
}

/// How the ONNX graph in tract compares with runtime-nostd, sample by sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    /// Samples whose quantized input differs (tract's reciprocal-multiply division; see
    /// `onnx_graph`).
    pub x_q_mismatch_samples: usize,
    /// Largest |logit difference| over all samples (MLP; 0 for a tree).
    pub logits_max_abs_diff: u32,
    /// Samples where the predicted classes differ.
    pub class_mismatch_samples: usize,
}

/// The board check that passed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BoardFit {
    pub board: String,
    /// Flash and RAM left for the model after the code/stack reserve.
    pub flash_available: usize,
    pub ram_available: usize,
}

/// The summary of one export.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportReport {
    pub artifact: PathBuf,
    pub onnx: PathBuf,
    pub vectors: PathBuf,
    pub summary: PathBuf,
    pub kind: String,
    pub artifact_sha256: String,
    pub onnx_sha256: String,
    /// Bytes of flash the model needs: the whole artifact, embedded as is.
    pub flash_bytes: usize,
    /// Bytes of RAM one inference needs: `scratch_bytes` plus the int8 input (F) and the
    /// int8 logits (C). This is what `--board` checks.
    pub ram_bytes: usize,
    /// runtime-nostd's scratch for one inference (`Model::scratch_len`).
    pub scratch_bytes: usize,
    pub macs: usize,
    pub calib_samples: usize,
    pub clipping: String,
    pub eval_samples: usize,
    pub vector_samples: usize,
    /// `None` when the evaluation set has no labels.
    pub accuracy: Option<Accuracy>,
    pub agreement: Agreement,
    pub board: Option<BoardFit>,
}

impl fmt::Display for ExportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "artifact      {}", self.artifact.display())?;
        writeln!(f, "  sha256      {}", self.artifact_sha256)?;
        writeln!(f, "onnx          {}", self.onnx.display())?;
        writeln!(
            f,
            "vectors       {} ({} samples)",
            self.vectors.display(),
            self.vector_samples
        )?;
        writeln!(f, "kind          {}", self.kind)?;
        writeln!(f, "flash         {} B", self.flash_bytes)?;
        writeln!(
            f,
            "RAM           {} B (scratch {} B + int8 input and logits)",
            self.ram_bytes, self.scratch_bytes
        )?;
        writeln!(f, "MACs/infer    {}", self.macs)?;
        writeln!(
            f,
            "calibration   {} samples, {}",
            self.calib_samples, self.clipping
        )?;
        match &self.accuracy {
            Some(a) => writeln!(
                f,
                "accuracy      float {:.2}%  int8 runtime {:.2}%  int8 tract {:.2}%  ({} samples, int8 − float = {:+.2} pt)",
                a.float,
                a.int8_runtime,
                a.int8_tract,
                self.eval_samples,
                a.int8_runtime - a.float
            )?,
            None => writeln!(f, "accuracy      (evaluation set has no labels)")?,
        }
        let g = &self.agreement;
        writeln!(
            f,
            "tract vs rt   classes differ on {} / {}, x_q differs on {}, max |Δlogit| {}",
            g.class_mismatch_samples,
            self.eval_samples,
            g.x_q_mismatch_samples,
            g.logits_max_abs_diff
        )?;
        if let Some(b) = &self.board {
            writeln!(
                f,
                "board         {}: fits ({} B flash, {} B RAM available)",
                b.board, b.flash_available, b.ram_available
            )?;
        }
        Ok(())
    }
}
