//! An imported teacher: any ONNX classifier (e.g. trained in PyTorch), run by tract.
use std::path::{Path, PathBuf};

use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

/// What the ONNX model expects as input, relative to the raw dataset values.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum OnnxInput {
    /// The dataset's values as they are.
    Raw,
    /// Raw values divided by 255 (torchvision's `ToTensor`).
    Unit,
    /// The normalization distill computes and saves with its models.
    Normalized,
}

#[derive(Debug, thiserror::Error)]
pub enum OnnxTeacherError {
    #[error("{path}: cannot load the ONNX teacher: {message}")]
    Load { path: PathBuf, message: String },
    #[error(
        "{path}: the model takes input {model:?} ({model_features} values per sample) but the dataset's samples have shape {data:?} ({data_features} values)"
    )]
    InputShape {
        path: PathBuf,
        model: Vec<String>,
        model_features: usize,
        data: Vec<usize>,
        data_features: usize,
    },
    #[error(
        "{path}: the model outputs {got:?} per batch but the dataset has {classes} classes (expected [batch, {classes}])"
    )]
    OutputShape {
        path: PathBuf,
        got: Vec<usize>,
        classes: usize,
    },
    #[error("{path}: running the teacher failed: {message}")]
    Run { path: PathBuf, message: String },
}

type Plan = Arc<TypedRunnableModel>;

pub struct OnnxTeacher {
    plan: Plan,
    path: PathBuf,
    batch: usize,
    sample_shape: Vec<usize>,
    classes: usize,
}

impl OnnxTeacher {
    /// Loads `path` for samples of `data_shape` and `classes` outputs, checking both.
    pub fn load(
        path: &Path,
        data_shape: &[usize],
        classes: usize,
    ) -> Result<Self, OnnxTeacherError> {
        let load_err = |e: TractError| OnnxTeacherError::Load {
            path: path.to_path_buf(),
            message: format!("{e:#}"),
        };
        let model = tract_onnx::onnx().model_for_path(path).map_err(load_err)?;
        let fact = model.input_fact(0).map_err(load_err)?.clone();
        let dims: Vec<Option<usize>> = fact
            .shape
            .dims()
            .map(|d| {
                d.concretize()
                    .and_then(|t| t.as_i64())
                    .and_then(|v| usize::try_from(v).ok())
            })
            .collect();
        let shown: Vec<String> = dims
            .iter()
            .map(|d| d.map_or("?".into(), |v| v.to_string()))
            .collect();
        let data_features: usize = data_shape.iter().product();
        // Dimension 0 is the batch; the rest must hold exactly one sample.
        let rest: Option<Vec<usize>> = dims.iter().skip(1).copied().collect();
        let sample_shape = match rest {
            Some(r) if !r.is_empty() && r.iter().product::<usize>() == data_features => r,
            Some(r) => {
                return Err(OnnxTeacherError::InputShape {
                    path: path.to_path_buf(),
                    model: shown,
                    model_features: r.iter().product(),
                    data: data_shape.to_vec(),
                    data_features,
                });
            }
            // Unknown sample dims: feed the dataset's own shape.
            None => data_shape.to_vec(),
        };
        let batch = dims.first().copied().flatten().unwrap_or(64);
        let mut full = vec![batch];
        full.extend_from_slice(&sample_shape);
        let plan = model
            .with_input_fact(0, f32::fact(&full).into())
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(load_err)?;
        let teacher = OnnxTeacher {
            plan,
            path: path.to_path_buf(),
            batch,
            sample_shape,
            classes,
        };
        teacher.logits(&vec![0.0; data_features], 1)?;
        Ok(teacher)
    }

    /// Logits `[n, classes]` row-major for `n` samples of prepared input values.
    pub fn logits(&self, x: &[f32], n: usize) -> Result<Vec<f32>, OnnxTeacherError> {
        let f: usize = self.sample_shape.iter().product();
        let mut out = Vec::with_capacity(n * self.classes);
        let mut shape = vec![self.batch];
        shape.extend_from_slice(&self.sample_shape);
        let mut start = 0;
        while start < n {
            let take = self.batch.min(n - start);
            // A fixed-batch plan: pad the last chunk with zeros and drop their outputs.
            let mut chunk = x[start * f..(start + take) * f].to_vec();
            chunk.resize(self.batch * f, 0.0);
            let run_err = |e: TractError| OnnxTeacherError::Run {
                path: self.path.clone(),
                message: format!("{e:#}"),
            };
            let input = tract_ndarray::ArrayD::from_shape_vec(shape.clone(), chunk)
                .map_err(|e| run_err(e.into()))?;
            let result = self
                .plan
                .run(tvec!(Tensor::from(input).into()))
                .map_err(run_err)?;
            let view = result[0].to_plain_array_view::<f32>().map_err(run_err)?;
            let got = view.shape().to_vec();
            if got.len() != 2 || got[1] != self.classes || got[0] != self.batch {
                return Err(OnnxTeacherError::OutputShape {
                    path: self.path.clone(),
                    got,
                    classes: self.classes,
                });
            }
            out.extend(view.iter().take(take * self.classes));
            start += take;
        }
        Ok(out)
    }
}
