//! Reading and writing the float model file `student.safetensors` (the project's one writer of
//! it: `distill` saves its students through [`FloatModel::save`]) and the calibration /
//! evaluation file, as FORMAT.md's last section defines them.

use std::collections::BTreeMap;
use std::path::Path;

use runtime_nostd::format::{self as fmt, LayerTensor, layer_name, meta};
use safetensors::Dtype;
use sha2::{Digest, Sha256};

use crate::dataset::Dataset;
use crate::error::{ExportError, Result};
use crate::float_model::{CnnLayer, Dense, FloatBody, FloatModel, SoftTree};
use crate::fsutil::write_atomic;
use crate::st_read::{StFile, parse_dims};
use crate::st_write::{Owned, serialize};

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| ExportError::io(path, e))
}

impl FloatModel {
    /// Loads and validates `student.safetensors`; `source_sha256` is the file's hash.
    pub fn load(path: &Path) -> Result<Self> {
        Self::from_safetensors_bytes(&read(path)?)
    }

    /// Parses and validates a float model file held in memory.
    pub fn from_safetensors_bytes(bytes: &[u8]) -> Result<Self> {
        let f = StFile::parse("float model", bytes)?;
        let input_shape = parse_dims(f.meta(meta::INPUT_SHAPE)?, fmt::SHAPE_SEPARATOR)
            .filter(|d| !d.is_empty())
            .ok_or_else(|| {
                f.bad_meta(
                    meta::INPUT_SHAPE,
                    "expected positive integers joined by `x`",
                )
            })?;
        let classes: Vec<String> = f
            .meta(meta::CLASSES)?
            .split(fmt::CLASS_SEPARATOR)
            .map(str::to_owned)
            .collect();
        let (_, mean) = f.f32s(fmt::INPUT_MEAN)?;
        let (_, std) = f.f32s(fmt::INPUT_STD)?;
        let body = match f.meta(meta::KIND)? {
            fmt::KIND_MLP => FloatBody::Mlp(load_mlp(&f)?),
            fmt::KIND_TREE => FloatBody::Tree(load_tree(&f)?),
            fmt::KIND_CNN => FloatBody::Cnn(load_cnn(&f, &input_shape)?),
            other => return Err(ExportError::UnknownKind(other.into())),
        };
        let source_sha256 = Sha256::digest(bytes).into();
        let m = FloatModel {
            input_shape,
            classes,
            mean,
            std,
            body,
            source_sha256,
            config: f.meta.get(meta::CONFIG).cloned(),
        };
        m.validate()?;
        Ok(m)
    }

    /// Writes this model to `path` in the float file format, atomically
    /// ([`crate::fsutil::write_atomic`]). It does not validate: [`FloatModel::load`] does.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_safetensors_bytes()?)
    }

    /// This model in the float file format. The bytes are a function of the content (sorted
    /// header, [`crate::st_write::serialize`]) and do not depend on `source_sha256`; loading
    /// them back gives the same model, `config` included.
    pub fn to_safetensors_bytes(&self) -> Result<Vec<u8>> {
        let mut meta = BTreeMap::new();
        if let Some(config) = &self.config {
            meta.insert(meta::CONFIG.to_string(), config.clone());
        }
        let dims: Vec<String> = self.input_shape.iter().map(usize::to_string).collect();
        meta.insert(
            meta::INPUT_SHAPE.to_string(),
            dims.join(&fmt::SHAPE_SEPARATOR.to_string()),
        );
        meta.insert(
            meta::CLASSES.to_string(),
            self.classes.join(&fmt::CLASS_SEPARATOR.to_string()),
        );
        let mut t: Vec<Owned> = vec![
            f32t(fmt::INPUT_MEAN, vec![self.mean.len()], &self.mean),
            f32t(fmt::INPUT_STD, vec![self.std.len()], &self.std),
        ];
        match &self.body {
            FloatBody::Mlp(layers) => {
                meta.insert(meta::KIND.into(), fmt::KIND_MLP.into());
                let hidden: Vec<String> = layers[..layers.len().saturating_sub(1)]
                    .iter()
                    .map(|l| l.out_features.to_string())
                    .collect();
                meta.insert(
                    meta::HIDDEN.into(),
                    hidden.join(&fmt::HIDDEN_SEPARATOR.to_string()),
                );
                for (k, l) in layers.iter().enumerate() {
                    t.push(f32t(
                        &layer_name(k, LayerTensor::Weight).to_string(),
                        vec![l.out_features, l.in_features],
                        &l.weight,
                    ));
                    t.push(f32t(
                        &layer_name(k, LayerTensor::Bias).to_string(),
                        vec![l.out_features],
                        &l.bias,
                    ));
                }
            }
            FloatBody::Tree(tr) => {
                meta.insert(meta::KIND.into(), fmt::KIND_TREE.into());
                meta.insert(meta::DEPTH.into(), tr.depth.to_string());
                let inner = tr.inner_bias.len();
                t.push(f32t(
                    fmt::FLOAT_TREE_INNER_WEIGHT,
                    vec![inner, self.features()],
                    &tr.inner_weight,
                ));
                t.push(f32t(
                    fmt::FLOAT_TREE_INNER_BIAS,
                    vec![inner],
                    &tr.inner_bias,
                ));
                t.push(f32t(
                    fmt::FLOAT_TREE_LEAVES,
                    vec![inner + 1, self.num_classes()],
                    &tr.leaves,
                ));
                t.push(f32t(fmt::FLOAT_TREE_BETA, vec![1], &[tr.beta]));
            }
            FloatBody::Cnn(layers) => {
                meta.insert(meta::KIND.into(), fmt::KIND_CNN.into());
                let plan = crate::float_model::validate_cnn(
                    layers,
                    &self.input_shape,
                    self.num_classes(),
                )?;
                meta.insert(meta::LAYERS.into(), plan.to_string());
                for (k, ((layer, i, o), l)) in plan.iter().zip(layers).enumerate() {
                    if layer.has_weights() {
                        let shape = float_weight_shape(layer, i, o, plan.is_sequence());
                        t.push(f32t(
                            &layer_name(k, LayerTensor::Weight).to_string(),
                            shape,
                            &l.weight,
                        ));
                        t.push(f32t(
                            &layer_name(k, LayerTensor::Bias).to_string(),
                            vec![o.c],
                            &l.bias,
                        ));
                    }
                }
            }
        }
        serialize(&t, &meta)
    }
}

impl Dataset {
    /// Loads `x` F32 `[N, F]` and optional `y` U32 `[N]` from a safetensors file.
    pub fn load(path: &Path) -> Result<Self> {
        Self::from_safetensors_bytes(&read(path)?)
    }

    /// Parses a dataset file held in memory.
    pub fn from_safetensors_bytes(bytes: &[u8]) -> Result<Self> {
        let f = StFile::parse("dataset", bytes)?;
        let (shape, x) = f.f32s(fmt::CALIB_X)?;
        let [rows, features] = shape[..] else {
            return Err(ExportError::Shape(format!(
                "dataset: `x` has shape {shape:?}, expected [N, F]"
            )));
        };
        let y = if f.has(fmt::CALIB_Y) {
            let (ys, y) = f.u32s(fmt::CALIB_Y)?;
            f.expect_shape(fmt::CALIB_Y, &ys, &[rows])?;
            Some(y)
        } else {
            None
        };
        Dataset::new(x, features, y)
    }

    /// Writes the dataset in the same file format (for tests and tools).
    pub fn to_safetensors_bytes(&self) -> Result<Vec<u8>> {
        let mut t = vec![f32t(
            fmt::CALIB_X,
            vec![self.rows(), self.features],
            &self.x,
        )];
        if let Some(y) = &self.y {
            t.push(Owned::new(
                fmt::CALIB_Y,
                Dtype::U32,
                vec![y.len()],
                y.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ));
        }
        serialize(&t, &BTreeMap::new())
    }
}

fn load_mlp(f: &StFile) -> Result<Vec<Dense>> {
    let hidden = parse_dims(f.meta(meta::HIDDEN)?, fmt::HIDDEN_SEPARATOR)
        .ok_or_else(|| f.bad_meta(meta::HIDDEN, "expected positive integers joined by `,`"))?;
    let mut layers = Vec::with_capacity(hidden.len() + 1);
    for k in 0..=hidden.len() {
        let (ws, weight) = f.f32s(&layer_name(k, LayerTensor::Weight).to_string())?;
        let (bs, bias) = f.f32s(&layer_name(k, LayerTensor::Bias).to_string())?;
        let [out_features, in_features] = ws[..] else {
            return Err(ExportError::Shape(format!(
                "layers.{k}.weight has shape {ws:?}, expected [out, in]"
            )));
        };
        if k < hidden.len() && out_features != hidden[k] {
            return Err(ExportError::Shape(format!(
                "layers.{k} has {out_features} outputs, config `hidden` says {}",
                hidden[k]
            )));
        }
        f.expect_shape(
            &layer_name(k, LayerTensor::Bias).to_string(),
            &bs,
            &[out_features],
        )?;
        layers.push(Dense {
            out_features,
            in_features,
            weight,
            bias,
        });
    }
    if f.has(&layer_name(hidden.len() + 1, LayerTensor::Weight).to_string()) {
        return Err(ExportError::Shape(format!(
            "more layers than `hidden` = {:?} implies",
            hidden
        )));
    }
    Ok(layers)
}

fn load_tree(f: &StFile) -> Result<SoftTree> {
    let depth: u32 = f
        .meta(meta::DEPTH)?
        .parse()
        .map_err(|_| f.bad_meta(meta::DEPTH, "not an integer"))?;
    let (_, inner_weight) = f.f32s(fmt::FLOAT_TREE_INNER_WEIGHT)?;
    let (_, inner_bias) = f.f32s(fmt::FLOAT_TREE_INNER_BIAS)?;
    let (_, leaves) = f.f32s(fmt::FLOAT_TREE_LEAVES)?;
    let (_, beta) = f.f32s(fmt::FLOAT_TREE_BETA)?;
    let &[beta] = &beta[..] else {
        return Err(ExportError::Shape("tree.beta must hold one value".into()));
    };
    Ok(SoftTree {
        depth,
        inner_weight,
        inner_bias,
        leaves,
        beta,
    })
}

/// A weighted CNN layer's float weight shape: OIHW for convolutions, `[O, I]` for dense.
fn float_weight_shape(
    layer: fmt::cnn::Layer,
    i: fmt::cnn::Shape,
    o: fmt::cnn::Shape,
    is_sequence: bool,
) -> Vec<usize> {
    let (kh, kw) = layer.window(is_sequence);
    match layer {
        fmt::cnn::Layer::Conv { .. } => vec![o.c, i.c, kh, kw],
        fmt::cnn::Layer::DwConv { .. } => vec![i.c, 1, kh, kw],
        _ => vec![o.c, i.len()],
    }
}

fn load_cnn(f: &StFile, input_shape: &[usize]) -> Result<Vec<CnnLayer>> {
    let text = f.meta(meta::LAYERS)?;
    let classes = f.meta(meta::CLASSES)?.split(fmt::CLASS_SEPARATOR).count();
    let plan = fmt::cnn::Plan::parse(text, input_shape, classes)
        .map_err(|e| f.bad_meta(meta::LAYERS, e.to_string()))?;
    let mut layers = Vec::new();
    for (k, (layer, i, o)) in plan.iter().enumerate() {
        let (weight, bias) = if layer.has_weights() {
            let (wname, bname) = (
                layer_name(k, LayerTensor::Weight).to_string(),
                layer_name(k, LayerTensor::Bias).to_string(),
            );
            let (ws, weight) = f.f32s(&wname)?;
            f.expect_shape(
                &wname,
                &ws,
                &float_weight_shape(layer, i, o, plan.is_sequence()),
            )?;
            let (bs, bias) = f.f32s(&bname)?;
            f.expect_shape(&bname, &bs, &[o.c])?;
            (weight, bias)
        } else {
            (Vec::new(), Vec::new())
        };
        layers.push(CnnLayer {
            layer,
            weight,
            bias,
        });
    }
    let weighted = plan.layers().iter().filter(|l| l.has_weights()).count();
    if f.st.len() != 2 + 2 * weighted {
        return Err(ExportError::Shape(format!(
            "the CNN `{text}` has {weighted} weighted layers ({} tensors with the \
             normalization) but the file holds {}",
            2 + 2 * weighted,
            f.st.len()
        )));
    }
    Ok(layers)
}

fn f32t(name: &str, shape: Vec<usize>, v: &[f32]) -> Owned {
    Owned::new(
        name,
        Dtype::F32,
        shape,
        v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    )
}
