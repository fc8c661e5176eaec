//! The CNN student's settings (`[student.cnn]`) and its flag.
//!
//! `layers` lists the network in runtime-nostd's layer grammar (`format::cnn`), one layer per
//! entry, short forms allowed (`conv 16` is `conv 16 k3 s1 same`). The classifier head
//! `dense C` (C = the data's classes) is appended unless the list already ends in it, so the
//! same list fits any class count and a list ending in another `dense O` gets a hidden dense
//! layer (with ReLU) before the head.
use runtime_nostd::format::cnn::{Layer, LayerError, MAX_OPS, Plan, Shape};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::{Error, Result, ensure};
use crate::students::kind::{Flag, FlagValue, settings_of};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CnnConfig {
    /// The layers before the head, e.g. `["conv 16", "maxpool 2", "gap"]`.
    pub layers: Vec<String>,
}

/// The default: two 3×3 conv blocks, 16 then 32 channels, each halved by a 2×2 max-pool, then
/// the head. On a 28×28 grey image with 10 classes: 20,490 parameters, 1,031,744 MACs.
pub const DEFAULT_LAYERS: &[&str] = &["conv 16", "maxpool 2", "conv 32", "maxpool 2"];

impl Default for CnnConfig {
    fn default() -> Self {
        CnnConfig {
            layers: DEFAULT_LAYERS.iter().map(|s| s.to_string()).collect(),
        }
    }
}

const KEY: &str = "student.cnn.layers";

impl CnnConfig {
    /// The CNN settings of `cfg` (checked by `Config::validate`).
    pub fn of(cfg: &Config) -> Result<Self> {
        settings_of(cfg, super::NAME)
    }

    /// Every entry parsed; the error names the first one that is not a layer.
    pub fn parsed(&self) -> Result<Vec<Layer>> {
        self.layers
            .iter()
            .enumerate()
            .map(|(i, s)| {
                Layer::parse(s).ok_or_else(|| {
                    Error::Config(format!(
                        "{KEY}[{i}] = {s:?} is not a layer: one of `conv O kK sS same|valid`, \
                         `dwconv kK sS same|valid`, `maxpool P`, `avgpool P`, `gap`, `dense O` \
                         (kK, sS and the padding may be left out: k3 s1 same; K, S, P in 1..={})",
                        runtime_nostd::format::cnn::MAX_KERNEL
                    ))
                })
            })
            .collect()
    }

    /// What can be checked without the data: every entry parses, and the list leaves room
    /// for the head within the runtime's [`MAX_OPS`] layers.
    pub fn validate(&self) -> Result<()> {
        let layers = self.parsed()?;
        let n = layers.len() + usize::from(!matches!(layers.last(), Some(Layer::Dense(_))));
        ensure!(
            n <= MAX_OPS,
            Config,
            "{KEY} has {} layers; with the head a CNN may have at most {MAX_OPS}",
            layers.len()
        );
        Ok(())
    }

    /// The full layer list for `classes` classes: the entries plus the head `dense classes`
    /// unless the last entry already is that.
    pub fn layers_for(&self, classes: usize) -> Result<Vec<Layer>> {
        let mut layers = self.parsed()?;
        if layers.last() != Some(&Layer::Dense(classes)) {
            layers.push(Layer::Dense(classes));
        }
        Ok(layers)
    }

    /// The checked network on samples of shape `input` (`[C, H, W]` or `[C, T]`).
    pub fn plan(&self, input: &[usize], classes: usize) -> Result<Plan> {
        ensure!(
            Shape::of_input(input).is_some(),
            Mismatch,
            "the CNN student needs images [C, H, W] or sequences [C, T]; these samples have \
             shape {input:?} (a table: use the mlp or tree student)"
        );
        let layers = self.layers_for(classes)?;
        Plan::new(&layers, input, classes).map_err(|e| explain(&layers, input, classes, e))
    }
}

/// `e` with the layer it is about and that layer's input shape.
fn explain(layers: &[Layer], input: &[usize], classes: usize, e: LayerError) -> Error {
    let list = layers
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let at = match e {
        LayerError::Shape(i) => {
            let is_sequence = input.len() == 2;
            let mut shape = Shape::of_input(input);
            for l in layers.iter().take(i) {
                shape = shape.and_then(|s| l.output(s, is_sequence));
            }
            match (layers.get(i), shape) {
                (Some(l), Some(s)) => format!(
                    " (layer {i}, `{l}`, on an input of {} channels × {} × {})",
                    s.c, s.h, s.w
                ),
                _ => String::new(),
            }
        }
        _ => String::new(),
    };
    Error::Mismatch(format!(
        "{KEY}: the CNN [{list}] does not fit samples of shape {input:?} with {classes} \
         classes: {e}{at}"
    ))
}

pub const FLAGS: &[Flag] = &[Flag {
    name: "cnn-layers",
    key: "layers",
    help: "CNN student: layers before the head `dense C` (added), comma-separated, e.g. \
           \"conv 8,maxpool 2,gap\" (conv O [kK] [sS] [same|valid], dwconv, maxpool P, avgpool P, \
           gap, dense O)",
    value: FlagValue::List,
}];
