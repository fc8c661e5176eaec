//! `run`: the whole export, computed in memory, checked, then written all at once.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::artifact::{artifact_parts, hex};
use crate::board::Board;
use crate::calibrate::{Clipping, calibrate};
use crate::dataset::Dataset;
use crate::error::{ExportError, Result};
use crate::float_model::FloatModel;
use crate::quantized::{QuantBody, QuantModel};
use crate::report::{BoardFit, ExportReport};
use crate::vectors::{Vectors, label_u8};

/// Points of accuracy int8 may lose against float before an export is refused.
pub const DEFAULT_MAX_INT8_DROP: f64 = 1.0;

/// What to export and where.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportOptions {
    /// Folder the files go to (created if missing).
    pub out_dir: PathBuf,
    /// File stem: `<stem>.int8.safetensors`, `<stem>.int8.onnx`, `<stem>.vectors.safetensors`,
    /// `<stem>.export.json`.
    pub stem: String,
    /// Calibration uses the first `calib_samples` rows of the calibration set (all if fewer).
    pub calib_samples: usize,
    pub clipping: Clipping,
    /// Refuse a model that does not fit this board.
    pub board: Option<Board>,
    /// Test vectors: the first `vectors` evaluation rows (all if fewer; 0 for none).
    pub vectors: usize,
    /// Refuse an int8 model more than this many points below float on the (labelled)
    /// evaluation set; `None` keeps it whatever the drop.
    pub max_int8_drop: Option<f64>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            out_dir: PathBuf::from("."),
            stem: "student".into(),
            calib_samples: 1000,
            clipping: Clipping::MinMax,
            board: None,
            vectors: 100,
            max_int8_drop: Some(DEFAULT_MAX_INT8_DROP),
        }
    }
}

/// Calibrates and quantizes `model` on `calib` (first `calib_samples` rows) with `clipping`.
pub fn quantize(
    model: &FloatModel,
    calib: &Dataset,
    calib_samples: usize,
    clipping: Clipping,
) -> Result<QuantModel> {
    model.validate()?;
    let ranges = calibrate(model, calib, calib_samples, clipping)?;
    QuantModel::build(model, &ranges)
}

/// Runs the whole export (see the crate documentation). Nothing is written unless every step
/// and check passed; then all four files appear together.
pub fn run(
    model: &FloatModel,
    calib: &Dataset,
    eval: &Dataset,
    opts: &ExportOptions,
) -> Result<ExportReport> {
    check_stem(&opts.stem)?;
    eval.check_width("evaluation data", model.features())?;
    let qm = quantize(model, calib, opts.calib_samples, opts.clipping)?;
    let (tensors, meta) = artifact_parts(&qm)?;
    let artifact = crate::st_write::serialize(&tensors, &meta)?;
    let onnx = crate::onnx_graph::onnx_bytes(&qm)?;
    let rt_model = crate::roundtrip::check(&artifact, &qm, &tensors)?;

    // MLPs and CNNs output int8 logits; a tree its leaf.
    let is_mlp = !matches!(qm.body, QuantBody::Tree(_));
    let (f, c) = (model.features(), model.num_classes());
    let rt = crate::evaluate::runtime(&rt_model, &qm, eval)?;
    let tr = crate::tract_eval::run_onnx(&onnx, &eval.x, f, is_mlp)?;
    let agreement = crate::evaluate::agreement(&rt, &tr, f, is_mlp)?;
    let accuracy = crate::evaluate::accuracy(model, eval, &rt, &tr);
    if let Some(acc) = &accuracy {
        let n = opts.calib_samples;
        crate::int8_drop::check(acc, eval.rows(), opts.max_int8_drop, model, &qm, calib, n)?;
    }

    let flash_bytes = artifact.len();
    let scratch_bytes = rt_model.scratch_len();
    let ram_bytes = crate::board::model_ram(&rt_model);
    let board = match opts.board {
        Some(b) => {
            b.check(flash_bytes, ram_bytes)?;
            let (flash, ram) = b.memory();
            Some(BoardFit {
                board: b.name().into(),
                flash_available: flash - crate::board::FLASH_RESERVE,
                ram_available: ram - crate::board::RAM_RESERVE,
            })
        }
        None => None,
    };

    let artifact_sha256 = hex(&Sha256::digest(&artifact));
    let nv = opts.vectors.min(eval.rows());
    let label = match &eval.y {
        Some(y) => Some(
            y[..nv]
                .iter()
                .map(|&v| label_u8(v, c))
                .collect::<Result<Vec<_>>>()?,
        ),
        None => None,
    };
    let vectors = Vectors {
        features: f,
        classes: c,
        x_q: rt.x_q[..nv * f].to_vec(),
        logits: rt.logits[..nv * c].to_vec(),
        // Classes are < 256: FloatModel::validate bounds the class count.
        class: rt.class[..nv].iter().map(|&k| k as u8).collect(),
        label,
        x: None,
    }
    .to_bytes(&artifact_sha256)?;

    let name = |suffix: &str| format!("{}.{suffix}", opts.stem);
    let report = ExportReport {
        artifact: opts.out_dir.join(name("int8.safetensors")),
        onnx: opts.out_dir.join(name("int8.onnx")),
        vectors: opts.out_dir.join(name("vectors.safetensors")),
        summary: opts.out_dir.join(name("export.json")),
        kind: match qm.body {
            QuantBody::Mlp(_) => runtime_nostd::format::KIND_MLP,
            QuantBody::Tree(_) => runtime_nostd::format::KIND_TREE,
            QuantBody::Cnn(_) => runtime_nostd::format::KIND_CNN,
        }
        .into(),
        artifact_sha256,
        onnx_sha256: hex(&Sha256::digest(&onnx)),
        flash_bytes,
        ram_bytes,
        scratch_bytes,
        macs: qm.macs(),
        calib_samples: opts.calib_samples.min(calib.rows()),
        clipping: opts.clipping.to_string(),
        eval_samples: eval.rows(),
        vector_samples: nv,
        accuracy,
        agreement,
        board,
    };
    let mut json =
        serde_json::to_vec_pretty(&report).map_err(|e| ExportError::Option(e.to_string()))?;
    json.push(b'\n');
    crate::staged::write_all(
        &opts.out_dir,
        &[
            (name("int8.safetensors"), artifact),
            (name("int8.onnx"), onnx),
            (name("vectors.safetensors"), vectors),
            (name("export.json"), json),
        ],
    )?;
    Ok(report)
}

/// A stem is one plain file-name component.
fn check_stem(stem: &str) -> Result<()> {
    let ok = !stem.is_empty()
        && stem != "."
        && stem != ".."
        && !stem.contains(['/', '\\', '\0'])
        && !stem.starts_with('.');
    if !ok {
        return Err(ExportError::Option(format!(
            "stem {stem:?} is not a plain file name"
        )));
    }
    Ok(())
}
