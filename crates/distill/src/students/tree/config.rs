//! The tree student's settings (`[student.tree]`) and the rules a tree run must meet.
use runtime_nostd::format as fmt;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::{Result, ensure};
use crate::students::kind::{Flag, FlagValue, settings_of};
use crate::training::loss::SoftLoss;

/// The soft decision tree student (Frosst & Hinton 2017).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TreeConfig {
    /// Depth d: 2^d − 1 inner nodes, 2^d leaves (1..=10, the runtime's limit).
    pub depth: u32,
    /// Initial inverse temperature β of the inner nodes' sigmoids.
    pub beta: f64,
    /// β at the last epoch, reached geometrically from `beta` (unset: β stays fixed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beta_final: Option<f64>,
    /// Learn β (kept positive: its logarithm is the parameter).
    pub learn_beta: bool,
    /// Strength λ of the balance penalty (0 turns it off).
    pub balance: f64,
    /// Decay of the root's running averages of the branch probabilities; a node at depth k
    /// uses a window 2^k times longer, because it sees 2^k times fewer samples.
    pub balance_decay: f64,
    /// Start each split at the median response of the training rows reaching it, so a fresh
    /// tree routes rows to every leaf (random filters with zero bias use few deep leaves).
    pub median_init: bool,
}

impl Default for TreeConfig {
    fn default() -> Self {
        TreeConfig {
            depth: 8,
            beta: 1.0,
            beta_final: None,
            learn_beta: false,
            // Depth 8 on full Fashion-MNIST, labels only, max path (docs/trees.md): λ = 10
            // gave 85.08% at 10 epochs (λ 0.01 84.65%, 1 83.89%) and 85.93% at 30 (λ 0.01
            // 85.47%, 30 85.47%, 100 85.43%). (On 10,000 images for 5 epochs λ = 1 was best.)
            balance: 10.0,
            balance_decay: 0.9,
            median_init: false,
        }
    }
}

impl TreeConfig {
    /// The tree settings of `cfg` (checked by `Config::validate`).
    pub fn of(cfg: &Config) -> Result<Self> {
        settings_of(cfg, super::NAME)
    }
}

pub const FLAGS: &[Flag] = &[
    Flag {
        name: "depth",
        key: "depth",
        help: "Tree depth (1..=10): 2^d − 1 inner nodes, 2^d leaves",
        value: FlagValue::One,
    },
    Flag {
        name: "tree-beta",
        key: "beta",
        help: "Tree: initial inverse temperature β of the node sigmoids",
        value: FlagValue::One,
    },
    Flag {
        name: "tree-beta-final",
        key: "beta_final",
        help: "Tree: β at the last epoch, reached geometrically from --tree-beta",
        value: FlagValue::One,
    },
    Flag {
        name: "learn-beta",
        key: "learn_beta",
        help: "Tree: learn β during training",
        value: FlagValue::Switch,
    },
    Flag {
        name: "median-init",
        key: "median_init",
        help: "Tree: start each split at the median response of the rows reaching it",
        value: FlagValue::Switch,
    },
    Flag {
        name: "balance",
        key: "balance",
        help: "Tree: strength λ of the balance penalty (0 = off)",
        value: FlagValue::One,
    },
];

/// The config rules a tree run must meet (the runtime's depth limits, a positive β, a soft
/// term the leaf distributions can learn).
pub fn validate(cfg: &Config) -> Result<()> {
    let t = &TreeConfig::of(cfg)?;
    let (lo, hi) = (fmt::MIN_DEPTH, fmt::MAX_DEPTH);
    ensure!(
        (lo..=hi).contains(&t.depth),
        Config,
        "student.tree.depth must be in {lo}..={hi}, got {}",
        t.depth
    );
    ensure!(
        t.beta > 0.0 && t.beta.is_finite(),
        Config,
        "student.tree.beta must be > 0 (the max-path rule takes the sign of w·x + b), got {}",
        t.beta
    );
    if let Some(b) = t.beta_final {
        ensure!(
            b > 0.0 && b.is_finite(),
            Config,
            "student.tree.beta_final must be > 0, got {b}"
        );
        ensure!(
            !t.learn_beta,
            Config,
            "student.tree: beta_final schedules a fixed β; it cannot be combined with learn_beta"
        );
    }
    ensure!(
        t.balance >= 0.0 && t.balance.is_finite(),
        Config,
        "student.tree.balance must be >= 0, got {}",
        t.balance
    );
    ensure!(
        (0.0..1.0).contains(&t.balance_decay),
        Config,
        "student.tree.balance_decay must be in [0, 1), got {}",
        t.balance_decay
    );
    ensure!(
        cfg.kd.soft != SoftLoss::LogitMse,
        Config,
        "a tree student learns leaf distributions: kd.soft must be \"kl\" or \"kl-targets\", not {:?}",
        cfg.kd.soft
    );
    Ok(())
}
