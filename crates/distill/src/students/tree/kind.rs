//! The soft tree as a student kind.
use std::path::Path;

use candle_core::Tensor;
use candle_nn::VarMap;
use rand_chacha::ChaCha8Rng;

use super::SoftTree;
use super::TreeConfig;
use crate::config::Config;
use crate::data::prepared::Prepared;
use crate::error::Result;
use crate::nn::Classifier;
use crate::report::Report;
use crate::students::float_model::{StudentMeta, save_tree};
use crate::students::kind::{Flag, Kind, Picture, Student, normalized};

/// Training rows that place a fresh tree's splits (`split_at_medians`).
const MEDIAN_INIT_ROWS: usize = 10_000;

pub struct TreeKind;

impl Kind for TreeKind {
    fn name(&self) -> &'static str {
        super::NAME
    }

    fn settings(&self, table: &toml::Table) -> Result<toml::Table> {
        normalized::<TreeConfig>(super::NAME, table)
    }

    fn flags(&self) -> &'static [Flag] {
        super::config::FLAGS
    }

    fn build(
        &self,
        cfg: &Config,
        p: &Prepared,
        varmap: &VarMap,
        rng: &mut ChaCha8Rng,
    ) -> Result<Box<dyn Student>> {
        let t = &TreeConfig::of(cfg)?;
        let tree = SoftTree::new(varmap, &p.train_x.mean(0)?, p.classes, t, rng, &p.device)?;
        if t.median_init {
            let n = p.train_x.dim(0)?.min(MEDIAN_INIT_ROWS);
            tree.split_at_medians(varmap, &p.train_x.narrow(0, 0, n)?)?;
        }
        Ok(Box::new(TreeStudent(tree)))
    }

    /// Per inner node F int8 weights, an f32 scale and an i32 bias; per leaf C u8
    /// probabilities and a u8 class (FORMAT.md).
    fn int8_bytes(&self, cfg: &Config, features: usize, classes: usize) -> Result<usize> {
        let inner = (1usize << TreeConfig::of(cfg)?.depth) - 1;
        Ok(inner * (features + 8) + (inner + 1) * (classes + 1))
    }

    fn validate(&self, cfg: &Config) -> Result<()> {
        super::validate(cfg)
    }

    fn report_section(&self, md: &mut String, r: &Report) -> Result<()> {
        super::report::write(md, r)
    }

    fn pictures(&self) -> &'static [Picture] {
        &[("tree.png", draw_tree)]
    }
}

/// `tree.png`: the distilled tree, from the saved float student.
fn draw_tree(dir: &Path) -> Result<()> {
    let model = export::FloatModel::load(&dir.join("student.safetensors"))?;
    let view = super::plots::TreeView::from_model(&model)?;
    let title = format!("Distilled soft decision tree, depth {}", view.depth);
    super::plots::tree_png(&dir.join("tree.png"), &title, &view)?;
    Ok(())
}

struct TreeStudent(SoftTree);

impl Student for TreeStudent {
    fn classifier(&self) -> &dyn Classifier {
        &self.0
    }

    fn save(&self, path: &Path, _varmap: &VarMap, meta: &StudentMeta) -> Result<()> {
        save_tree(path, &self.0, meta)
    }

    fn device_note(&self, x: &Tensor) -> candle_core::Result<Option<String>> {
        let mut used = self.0.max_path_leaves(x)?;
        used.sort_unstable();
        used.dedup();
        Ok(Some(format!(
            "through {} of {} leaves",
            used.len(),
            1u32 << self.0.depth
        )))
    }
}
