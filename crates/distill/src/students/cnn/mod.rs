//! The CNN student: convolutions, pools and dense layers in runtime-nostd's layer grammar
//! (`format::cnn`), on images `[C, H, W]` or sequences `[C, T]` (run as `[C, 1, T]` with 1×K
//! windows), trained through candle's autograd and saved as export's float CNN.
mod bias_relu;
mod config;
mod model;
mod pool;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;
use std::path::Path;

use candle_nn::VarMap;
use rand_chacha::ChaCha8Rng;
use runtime_nostd::format::cnn::{Plan, Shape};

use crate::config::Config;
use crate::data::prepared::Prepared;
use crate::error::Result;
use crate::nn::Classifier;
use crate::report::Report;
use crate::students::float_model::{StudentMeta, save};
use crate::students::kind::{Flag, Kind, Student, normalized};

pub use config::{CnnConfig, DEFAULT_LAYERS};
pub use model::CnnNet;

/// The kind's name in `student.kind` and its settings table.
pub const NAME: &str = "cnn";

pub struct CnnKind;

impl Kind for CnnKind {
    fn name(&self) -> &'static str {
        NAME
    }

    fn settings(&self, table: &toml::Table) -> Result<toml::Table> {
        normalized::<CnnConfig>(NAME, table)
    }

    fn flags(&self) -> &'static [Flag] {
        config::FLAGS
    }

    fn validate(&self, cfg: &Config) -> Result<()> {
        CnnConfig::of(cfg)?.validate()
    }

    fn build(
        &self,
        cfg: &Config,
        p: &Prepared,
        varmap: &VarMap,
        rng: &mut ChaCha8Rng,
    ) -> Result<Box<dyn Student>> {
        let plan = CnnConfig::of(cfg)?.plan(&p.shape, p.classes)?;
        let net = CnnNet::new(varmap, &plan, rng, &p.device)?;
        Ok(Box::new(CnnStudent(net)))
    }

    /// The pipeline gives the feature count, not the sample's shape, so the shape is guessed:
    /// a square grey image `[1, s, s]`, else a square colour one `[3, s, s]`, else a
    /// one-channel sequence `[1, F]` — the first the layers fit. Exact for those data; for
    /// others (a multichannel sequence) an estimate. The report's CNN section has the exact
    /// figure, from the saved student.
    fn int8_bytes(&self, cfg: &Config, features: usize, classes: usize) -> Result<usize> {
        let c = CnnConfig::of(cfg)?;
        let side = |f: usize| {
            let s = (f as f64).sqrt().round() as usize;
            (s * s == f).then_some(s)
        };
        let guesses = [
            side(features).map(|s| vec![1, s, s]),
            features
                .is_multiple_of(3)
                .then(|| side(features / 3))
                .flatten()
                .map(|s| vec![3, s, s]),
            Some(vec![1, features]),
        ];
        let plan = guesses
            .iter()
            .flatten()
            .find_map(|shape| c.plan(shape, classes).ok());
        match plan {
            Some(plan) => Ok(int8_bytes(&plan)),
            None => c.plan(&[1, features], classes).map(|p| int8_bytes(&p)),
        }
    }

    fn report_section(&self, md: &mut String, r: &Report) -> Result<()> {
        report_section(md, r)
    }
}

/// The int8 artifact's weights plus 16 bytes per output channel of each weighted layer (i32
/// bias, multiplier and shift, f32 weight scale: FORMAT.md), as `dense_int8_bytes` counts.
pub fn int8_bytes(plan: &Plan) -> usize {
    plan.iter()
        .filter(|(l, ..)| l.has_weights())
        .map(|(l, i, o)| l.weights(i, plan.is_sequence()) + 16 * o.c)
        .sum()
}

/// The layers with their shapes, MACs and parameters, read from the saved KD student (the
/// pipeline tells a kind's report section nothing of the data's shape).
fn report_section(md: &mut String, r: &Report) -> Result<()> {
    let path = r
        .config
        .out_dir
        .join(&r.config.name)
        .join("student.safetensors");
    let model = export::FloatModel::load(&path).ok();
    let Some(Some(Ok(plan))) = model.as_ref().map(|m| m.cnn_plan()) else {
        let layers = CnnConfig::of(r.config)?.layers.join(", ");
        writeln!(
            md,
            "\n## CNN student\n\nLayers: {layers}, then the head `dense C` (the saved student \
             {} could not be read for its shapes).",
            path.display()
        )?;
        return Ok(());
    };
    let shape = |s: Shape| match plan.is_sequence() {
        true => format!("{}×{}", s.c, s.w),
        false => format!("{}×{}×{}", s.c, s.h, s.w),
    };
    writeln!(
        md,
        "\n## CNN student: {} layers, {} parameters, {} MACs per inference\n",
        plan.layers().len(),
        plan.params(),
        plan.macs()
    )?;
    writeln!(
        md,
        "Shapes are channels × {}; conv and dwconv are followed by ReLU, as is every dense \
         layer but the last. int8 weights and per-channel constants: {} bytes.\n",
        if plan.is_sequence() {
            "steps"
        } else {
            "height × width"
        },
        int8_bytes(&plan)
    )?;
    writeln!(
        md,
        "| k | layer | input | output | MACs | parameters |\n|---:|---|---|---|---:|---:|"
    )?;
    for (k, (l, i, o)) in plan.iter().enumerate() {
        let params = match l.has_weights() {
            true => l.weights(i, plan.is_sequence()) + o.c,
            false => 0,
        };
        writeln!(
            md,
            "| {k} | `{l}` | {} | {} | {} | {params} |",
            shape(i),
            shape(o),
            l.macs(i, o, plan.is_sequence())
        )?;
    }
    Ok(())
}

struct CnnStudent(CnnNet);

impl Student for CnnStudent {
    fn classifier(&self) -> &dyn Classifier {
        &self.0
    }

    fn save(&self, path: &Path, varmap: &VarMap, meta: &StudentMeta) -> Result<()> {
        let layers = self.0.float_layers(varmap)?;
        save(path, export::FloatBody::Cnn(layers), meta)
    }
}
