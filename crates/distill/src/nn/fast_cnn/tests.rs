//! The fast CNN step against its reference twin, candle's autograd on the same model: the
//! CNN teacher (its own forward: im2col + fused ReLU/pool custom ops) and a test model that
//! runs any plan through candle's conv2d (strides, groups), pooling by reshape + max,
//! `avg_pool2d` and means. Same seeds, same batches and the same dropout masks (both draw
//! per element, in `[B, C, H, W]` order, from the step's RNG), so after one step and after
//! three (the last one a partial batch) the parameters and losses must agree to float
//! rounding.
use candle_core::{D, Device, Module, Tensor};
use candle_nn::{Linear, VarMap};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use runtime_nostd::format::cnn::{Layer, Plan};

use super::{Dropout, FastCnn};
use crate::config::TrainConfig;
use crate::nn::{Classifier, Cnn, CnnSpec, FastStep, Mode, dropout, param};
use crate::training::loss::{KdLoss, SoftLoss};
use crate::training::metrics::Metrics;
use crate::training::optim::{AdamW, AdamWConfig, FusedAdamW};
use crate::training::progress::EpochProgress;
use crate::training::{Job, TrainData, train};

const BATCH: usize = 5;
const C: usize = 3;
/// Largest difference allowed between the two paths' parameters (they move by ~lr = 1e-2
/// per step) and, relative, between their losses.
const PARAM_TOL: f32 = 5e-6;
const LOSS_TOL: f64 = 1e-5;

/// Any plan through candle's own ops, with parameters `layers.{k}.weight|bias` (OIHW conv
/// weights, `[O, I]` dense ones) drawn as PyTorch initializes them.
struct PlanNet {
    plan: Plan,
    params: Vec<(Tensor, Tensor)>,
    dropout: Vec<Dropout>,
}

impl PlanNet {
    fn new(varmap: &VarMap, plan: Plan, dropout: &[Dropout], rng: &mut ChaCha8Rng) -> Self {
        let dev = Device::Cpu;
        let seq = plan.is_sequence();
        let mut params = Vec::new();
        for (k, (layer, inp, out)) in plan.iter().enumerate() {
            let (kh, kw) = layer.window(seq);
            let (shape, fan_in) = match layer {
                Layer::Conv { .. } => (vec![out.c, inp.c, kh, kw], inp.c * kh * kw),
                Layer::DwConv { .. } => (vec![inp.c, 1, kh, kw], kh * kw),
                Layer::Dense(o) => (vec![o, inp.len()], inp.len()),
                _ => continue,
            };
            let name = |t: &str| format!("layers.{k}.{t}");
            let w = param(varmap, &name("weight"), &shape, fan_in, rng, &dev).unwrap();
            let b = param(varmap, &name("bias"), &[out.c], fan_in, rng, &dev).unwrap();
            params.push((w, b));
        }
        PlanNet {
            plan,
            params,
            dropout: dropout.to_vec(),
        }
    }
}

impl Classifier for PlanNet {
    fn forward(&self, x: &Tensor, mode: &mut Mode) -> candle_core::Result<Tensor> {
        let seq = self.plan.is_sequence();
        let s = self.plan.input_of(0).unwrap();
        let mut t = x.reshape((x.dim(0)?, s.c, s.h, s.w))?;
        let mut weights = self.params.iter();
        let last = self.plan.layers().len() - 1;
        for (k, (layer, inp, out)) in self.plan.iter().enumerate() {
            if let Some(d) = self.dropout.iter().find(|d| d.before == k) {
                t = dropout(&t, d.p, mode)?;
            }
            let (kh, kw) = layer.window(seq);
            let (ph, pw) = layer.padding(seq);
            t = match layer {
                Layer::Conv { stride, .. } | Layer::DwConv { stride, .. } => {
                    let (w, b) = weights.next().unwrap();
                    let groups = match layer {
                        Layer::DwConv { .. } => inp.c,
                        _ => 1,
                    };
                    // Cropped to what the windows read: candle's conv2d backward takes the
                    // output padding of both sides from the height's, which fails on a
                    // sequence whose stride leaves a column unread.
                    let (rows, cols) = ((out.h - 1) * stride + kh, (out.w - 1) * stride + kw);
                    t.pad_with_zeros(2, ph, ph)?
                        .pad_with_zeros(3, pw, pw)?
                        .narrow(2, 0, rows)?
                        .narrow(3, 0, cols)?
                        .conv2d(w, 0, stride, 1, groups)?
                        .broadcast_add(&b.reshape((1, b.dim(0)?, 1, 1))?)?
                        .relu()?
                }
                Layer::MaxPool(_) => {
                    let (n, c, h, w) = t.dims4()?;
                    let (oh, ow) = (h / kh, w / kw);
                    t.narrow(2, 0, oh * kh)?
                        .narrow(3, 0, ow * kw)?
                        .contiguous()?
                        .reshape((n, c, oh, kh, ow, kw))?
                        .max(5)?
                        .max(3)?
                }
                Layer::AvgPool(_) => t.avg_pool2d_with_stride((kh, kw), (kh, kw))?,
                Layer::Gap => t.mean_keepdim(D::Minus1)?.mean_keepdim(2)?,
                Layer::Dense(_) => {
                    let (w, b) = weights.next().unwrap();
                    let z = Linear::new(w.clone(), Some(b.clone())).forward(&t.flatten_from(1)?)?;
                    if k < last { z.relu()? } else { z }
                }
            };
        }
        Ok(t)
    }

    fn fast_step(
        &self,
        opt: &FusedAdamW,
        batch: usize,
    ) -> candle_core::Result<Option<Box<dyn FastStep + '_>>> {
        Ok(
            FastCnn::new(&self.plan, &self.dropout, &self.params, opt, batch)?
                .map(|f| Box::new(f) as Box<dyn FastStep>),
        )
    }
}

/// What one twin run trains.
#[derive(Clone, Copy)]
struct Case<'a> {
    /// `None`: the CNN teacher (channels 4, 6, dense 10) on `input`.
    plan: Option<&'a str>,
    input: &'a [usize],
    /// The teacher's dropout, or a plan's dropout positions (all with p = 0.3).
    dropout: f32,
    positions: &'a [usize],
    kd: Option<KdLoss>,
    masked: bool,
}

fn build(case: &Case, varmap: &VarMap, rng: &mut ChaCha8Rng) -> Box<dyn Classifier> {
    match case.plan {
        None => {
            let i = case.input;
            let spec = CnnSpec {
                input: [i[0], i[1], i[2]],
                channels: &[4, 6],
                dense: 10,
                classes: C,
                dropout: case.dropout,
            };
            Box::new(Cnn::new(varmap, &spec, rng, &Device::Cpu).unwrap())
        }
        Some(text) => {
            let plan = Plan::parse(text, case.input, C).unwrap();
            let dropout: Vec<Dropout> = case
                .positions
                .iter()
                .map(|&before| Dropout {
                    before,
                    p: case.dropout,
                })
                .collect();
            Box::new(PlanNet::new(varmap, plan, &dropout, rng))
        }
    }
}

/// Trains `case` for `steps` steps of batch 5 (the last one of 3 rows when `steps` > 1) in
/// one epoch; returns its parameters in name order and the epoch's loss.
fn run(case: &Case, fast: bool, steps: usize) -> (Vec<(String, Vec<f32>)>, f64) {
    let dev = Device::Cpu;
    let n = if steps == 1 {
        BATCH
    } else {
        BATCH * (steps - 1) + 3
    };
    let f: usize = case.input.iter().product();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut draw = |len: usize, scale: f32| {
        let v: Vec<f32> = (0..len).map(|_| rng.random_range(-scale..scale)).collect();
        v
    };
    let x = Tensor::from_vec(draw(n * f, 2.0), (n, f), &dev).unwrap();
    let teacher = Tensor::from_vec(draw(n * C, 4.0), (n, C), &dev).unwrap();
    let y: Vec<u32> = (0..n).map(|i| ((i * 7 + 1) % C) as u32).collect();
    let y = Tensor::from_vec(y, n, &dev).unwrap();
    let mask: Vec<f32> = (0..n).map(|i| (i % 3 != 0) as u32 as f32).collect();
    let mask = Tensor::from_vec(mask, n, &dev).unwrap();
    let varmap = VarMap::new();
    let model = build(case, &varmap, &mut ChaCha8Rng::seed_from_u64(3));
    if fast {
        // Or both runs would train through autograd and agree trivially.
        let AdamW::Fused(opt) = AdamW::new(&varmap, AdamWConfig::default()).unwrap() else {
            unreachable!("CPU variables get the fused optimizer")
        };
        assert!(model.fast_step(&opt, BATCH).unwrap().is_some());
    }
    let dir = tempfile::tempdir().unwrap();
    let data = TrainData {
        x: &x,
        y: &y,
        teacher: case.kd.map(|_| &teacher),
        label_mask: case.masked.then_some(&mask),
        val_x: &x,
        val_y: &y,
    };
    let job = Job {
        stage: "t",
        cfg: TrainConfig {
            epochs: 1,
            batch_size: BATCH,
            lr: 0.01,
            weight_decay: 0.01,
            patience: 0,
            ..TrainConfig::default()
        },
        kd: case.kd,
        seed: 9,
        checkpoint: dir.path().join("c.safetensors"),
        resume: false,
        augment: None,
        fast,
    };
    let hist = train(
        model.as_ref(),
        &varmap,
        &data,
        &job,
        &mut Metrics::none(),
        &EpochProgress::new(false),
    )
    .unwrap()
    .history;
    let mut names: Vec<_> = varmap.data().lock().unwrap().keys().cloned().collect();
    names.sort();
    let params = names
        .into_iter()
        .map(|name| {
            let t = varmap.data().lock().unwrap()[&name].as_tensor().clone();
            (name, t.flatten_all().unwrap().to_vec1::<f32>().unwrap())
        })
        .collect();
    (params, hist[0].loss)
}

/// After one step and after three, the fast path's parameters and loss equal autograd's.
fn assert_twins(case: Case) {
    for steps in [1, 3] {
        let (pa, la) = run(&case, false, steps);
        let (pb, lb) = run(&case, true, steps);
        assert!(
            (la - lb).abs() < LOSS_TOL * la.abs().max(1.0),
            "{steps} steps: loss {la} vs {lb}"
        );
        let mut moved = 0f32;
        for ((name, a), (_, b)) in pa.iter().zip(&pb) {
            let worst = a
                .iter()
                .zip(b)
                .map(|(p, q)| (p - q).abs())
                .fold(0f32, f32::max);
            assert!(
                worst < PARAM_TOL,
                "{steps} steps: {name} differs by {worst} ({:?})",
                case.plan
            );
            moved = moved.max(a.iter().map(|v| v.abs()).sum::<f32>());
        }
        assert!(moved > 0.0);
    }
}

fn kd() -> KdLoss {
    KdLoss {
        alpha: 0.3,
        temperature: 2.5,
        t_squared: true,
        soft: SoftLoss::Kl,
        search: false,
    }
}

const TEACHER: Case = Case {
    plan: None,
    input: &[1, 12, 12],
    dropout: 0.0,
    positions: &[],
    kd: None,
    masked: false,
};

#[test]
fn teacher_on_labels_matches_autograd_with_and_without_dropout() {
    assert_twins(TEACHER);
    assert_twins(Case {
        dropout: 0.25,
        ..TEACHER
    });
}

#[test]
fn teacher_on_kd_targets_matches_autograd() {
    assert_twins(Case {
        kd: Some(kd()),
        masked: true,
        dropout: 0.25,
        ..TEACHER
    });
    assert_twins(Case {
        kd: Some(KdLoss {
            soft: SoftLoss::LogitMse,
            alpha: 0.5,
            ..kd()
        }),
        ..TEACHER
    });
}

/// Stride 2 with valid and same padding (a 5×5 window), a depthwise conv, an average pool
/// dropping a partial window, a pointwise conv and a max pool down to 1×1.
const STRIDED: Case = Case {
    plan: Some(
        "conv 4 k5 s2 same;dwconv k3 s1 same;avgpool 2;conv 6 k1 s1 valid;maxpool 2;dense 7;dense 3",
    ),
    input: &[2, 11, 11],
    dropout: 0.0,
    positions: &[],
    kd: None,
    masked: false,
};

#[test]
fn strided_plan_matches_autograd() {
    assert_twins(STRIDED);
    // Dropout inside the convolutions (channels-last there) and on the flatten.
    assert_twins(Case {
        dropout: 0.3,
        positions: &[1, 5, 6],
        ..STRIDED
    });
    assert_twins(Case {
        kd: Some(kd()),
        dropout: 0.3,
        positions: &[3],
        ..STRIDED
    });
}

#[test]
fn valid_strided_dwconv_and_gap_plan_matches_autograd() {
    let case = Case {
        plan: Some("conv 5 k3 s1 valid;maxpool 2;dwconv k3 s2 valid;gap;dense 3"),
        input: &[2, 10, 10],
        ..STRIDED
    };
    assert_twins(case);
    assert_twins(Case {
        dropout: 0.3,
        positions: &[2, 4],
        kd: Some(kd()),
        masked: true,
        ..case
    });
}

#[test]
fn sequence_plan_matches_autograd() {
    let case = Case {
        plan: Some(
            "conv 6 k5 s1 same;maxpool 2;dwconv k3 s2 valid;conv 8 k3 s1 valid;avgpool 2;dense 5;dense 3",
        ),
        input: &[3, 20],
        ..STRIDED
    };
    assert_twins(case);
    assert_twins(Case {
        dropout: 0.3,
        positions: &[0, 3, 5, 6],
        kd: Some(kd()),
        ..case
    });
}

#[test]
fn a_plan_of_dense_layers_only_matches_autograd() {
    assert_twins(Case {
        plan: Some("dense 6;dense 3"),
        input: &[2, 3, 3],
        dropout: 0.3,
        positions: &[0, 1],
        ..STRIDED
    });
}

#[test]
fn new_refuses_parameters_that_do_not_fit_the_plan() {
    let varmap = VarMap::new();
    let plan = Plan::parse("conv 4 k3 s1 same;gap;dense 3", &[2, 6, 6], C).unwrap();
    let net = PlanNet::new(&varmap, plan, &[], &mut ChaCha8Rng::seed_from_u64(1));
    let AdamW::Fused(opt) = AdamW::new(&varmap, AdamWConfig::default()).unwrap() else {
        unreachable!("CPU variables get the fused optimizer")
    };
    assert!(
        FastCnn::new(&plan, &[], &net.params, &opt, 4)
            .unwrap()
            .is_some()
    );
    let swapped = vec![net.params[1].clone(), net.params[0].clone()];
    assert!(FastCnn::new(&plan, &[], &swapped, &opt, 4).is_err());
    assert!(FastCnn::new(&plan, &[], &net.params[..1], &opt, 4).is_err());
    let out = [Dropout { before: 3, p: 0.5 }];
    assert!(FastCnn::new(&plan, &out, &net.params, &opt, 4).is_err());
}

/// Masks drawn from words in bulk are those of one `random::<f32>()` per value (candle's
/// path), from any position in the stream, and leave the generator where it would be.
#[test]
fn bulk_mask_draws_equal_one_random_f32_per_value() {
    let mut bulk = ChaCha8Rng::seed_from_u64(4);
    // Off a block boundary, as after the epoch's shuffle.
    for _ in 0..3 {
        bulk.random::<u32>();
    }
    let mut one = bulk.clone();
    let (p, lens) = ([0.0, 0.25, 0.5], [7, 5000, 3]);
    let mut masks: Vec<Vec<f32>> = lens.iter().map(|&l| vec![9.0; 2 * l]).collect();
    super::draw(&mut masks, &p, &lens, 2, &mut bulk, &mut [0u32; 64]);
    assert!(masks[0].iter().all(|&m| m == 9.0), "p = 0 draws nothing");
    for (k, mask) in masks.iter().enumerate().skip(1) {
        let keep = 1.0 / (1.0 - p[k]);
        for &m in mask {
            assert_eq!(
                m,
                if one.random::<f32>() < p[k] {
                    0.0
                } else {
                    keep
                }
            );
        }
    }
    assert_eq!(bulk.random::<u64>(), one.random::<u64>());
}
