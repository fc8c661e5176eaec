use candle_core::{Device, Tensor, Var};
use candle_nn::VarMap;
use clap::Parser;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::bias_relu::{bias_relu, bias_relu_composed};
use super::pool::{avg_pool, max_pool, max_pool_composed};
use super::*;
use crate::config::TrainConfig;
use crate::data::prepared::Prepared;
use crate::data::{DataBundle, Dataset, Normalization};
use crate::nn::Mode;
use crate::students::kind::store_settings;
use crate::training::metrics::Metrics;
use crate::training::optim::{AdamW, AdamWConfig};
use crate::training::progress::EpochProgress;
use crate::training::{Job, TrainData, train};

fn cnn(layers: &[&str]) -> CnnConfig {
    CnnConfig {
        layers: layers.iter().map(|s| s.to_string()).collect(),
    }
}

fn net(layers: &[&str], input: &[usize], classes: usize, seed: u64) -> (CnnNet, VarMap) {
    let plan = cnn(layers).plan(input, classes).unwrap();
    let varmap = VarMap::new();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let net = CnnNet::new(&varmap, &plan, &mut rng, &Device::Cpu).unwrap();
    (net, varmap)
}

fn randn(shape: &[usize], seed: u64) -> Tensor {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(-2.0..2.0)).collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

/// Every layer kind, strides, both paddings and partial pool windows, on a non-square image
/// and on a sequence.
const IMAGE: &[&str] = &[
    "conv 4",
    "maxpool 2",
    "dwconv k3 s2",
    "conv 6 k1 valid",
    "avgpool 2",
    "dense 7",
];
const IMAGE_SHAPE: &[usize] = &[2, 11, 13];
const SEQUENCE: &[&str] = &[
    "conv 4 k5 s2 valid",
    "maxpool 2",
    "dwconv k3",
    "conv 5 k3 s2",
    "gap",
];
const SEQUENCE_SHAPE: &[usize] = &[3, 41];

#[test]
fn the_default_fits_fashion_mnist_within_the_budget() {
    let plan = CnnConfig::default().plan(&[1, 28, 28], 10).unwrap();
    println!(
        "default CNN on [1, 28, 28], 10 classes: {plan}: {} parameters, {} MACs, {} int8 bytes",
        plan.params(),
        plan.macs(),
        int8_bytes(&plan)
    );
    assert_eq!(
        plan.to_string(),
        "conv 16 k3 s1 same;maxpool 2;conv 32 k3 s1 same;maxpool 2;dense 10"
    );
    assert_eq!((plan.params(), plan.macs()), (20_490, 1_031_744));
    let (_, varmap) = net(DEFAULT_LAYERS, &[1, 28, 28], 10, 0);
    assert_eq!(crate::nn::count_params(&varmap), plan.params());
    // A sequence takes the same list with 1×3 and 1×2 windows.
    let seq = CnnConfig::default().plan(&[6, 128], 4).unwrap();
    assert_eq!(seq.input_of(4).unwrap().len(), 32 * 32);
}

#[test]
fn the_head_is_added_unless_the_list_ends_in_it() {
    let head = |layers: &[&str]| cnn(layers).plan(&[1, 8, 8], 3).unwrap().to_string();
    assert_eq!(head(&["gap"]), "gap;dense 3");
    assert_eq!(head(&["gap", "dense 3"]), "gap;dense 3");
    assert_eq!(head(&["gap", "dense 16"]), "gap;dense 16;dense 3");
    assert_eq!(head(&[]), "dense 3");
}

#[test]
fn bad_settings_are_named() {
    let e = cnn(&["conv 8", "pool 2"])
        .validate()
        .unwrap_err()
        .to_string();
    assert!(e.contains("student.cnn.layers[1] = \"pool 2\""), "{e}");
    let e = cnn(&["conv 8 k4"]).plan(&[1, 8, 8], 3).unwrap_err();
    assert!(
        e.to_string().contains("layer 0, `conv 8 k4 s1 same`"),
        "{e}"
    );
    let e = cnn(&["maxpool 4", "maxpool 4"])
        .plan(&[1, 8, 8], 3)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("layer 1, `maxpool 4`, on an input of 1 channels × 2 × 2"),
        "{e}"
    );
    let e = cnn(&["gap"]).plan(&[64], 3).unwrap_err().to_string();
    assert!(e.contains("images [C, H, W] or sequences [C, T]"), "{e}");
    let many: Vec<String> = (0..16).map(|_| "conv 2".to_string()).collect();
    let e = CnnConfig { layers: many }
        .validate()
        .unwrap_err()
        .to_string();
    assert!(e.contains("at most 16"), "{e}");
}

#[test]
fn the_flag_sets_the_layers() {
    let top = crate::cli::Top::try_parse_from([
        "distill",
        "--student",
        "cnn",
        "--cnn-layers",
        "conv 8, maxpool 2,gap",
    ])
    .unwrap();
    let cfg = top.run.resolve().unwrap();
    assert_eq!(
        CnnConfig::of(&cfg).unwrap(),
        cnn(&["conv 8", "maxpool 2", "gap"])
    );
    cfg.validate().unwrap();
}

#[test]
fn int8_bytes_counts_weights_and_sixteen_bytes_per_channel() {
    let plan = CnnConfig::default().plan(&[1, 28, 28], 10).unwrap();
    // conv 16: 144 + 256; conv 32: 4608 + 512; dense 10: 15680 + 160.
    assert_eq!(int8_bytes(&plan), 144 + 256 + 4608 + 512 + 15_680 + 160);
    let mut cfg = Config::default();
    cfg.student.kind = NAME.into();
    assert_eq!(
        CnnKind.int8_bytes(&cfg, 784, 10).unwrap(),
        int8_bytes(&plan)
    );
    let rgb = CnnConfig::default().plan(&[3, 32, 32], 10).unwrap();
    assert_eq!(
        CnnKind.int8_bytes(&cfg, 3072, 10).unwrap(),
        int8_bytes(&rgb)
    );
}

#[test]
fn forward_gives_logits_on_images_and_sequences() {
    for (layers, shape) in [(IMAGE, IMAGE_SHAPE), (SEQUENCE, SEQUENCE_SHAPE)] {
        let (net, _) = net(layers, shape, 5, 1);
        let f: usize = shape.iter().product();
        let y = net.forward(&randn(&[3, f], 2), &mut Mode::Eval).unwrap();
        assert_eq!(y.dims(), &[3, 5], "{layers:?}");
    }
    let (net, _) = net(DEFAULT_LAYERS, &[1, 28, 28], 10, 1);
    let y = net.forward(&randn(&[2, 784], 2), &mut Mode::Eval).unwrap();
    assert_eq!(y.dims(), &[2, 10]);
}

/// The saved file loads back through export, and export's float reference (CHW, OIHW, its
/// own loops) predicts what this forward pass predicts.
#[test]
fn the_saved_student_predicts_as_export_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (layers, shape)) in [
        (IMAGE, IMAGE_SHAPE),
        (SEQUENCE, SEQUENCE_SHAPE),
        (DEFAULT_LAYERS, &[1, 28, 28][..]),
    ]
    .into_iter()
    .enumerate()
    {
        let classes = 6;
        let (net, varmap) = net(layers, shape, classes, 10 + i as u64);
        let norm = Normalization {
            mean: vec![0.0],
            std: vec![1.0],
        };
        let names: Vec<String> = (0..classes).map(|c| format!("c{c}")).collect();
        let meta = StudentMeta {
            input_shape: shape,
            classes: &names,
            norm: &norm,
            config_toml: "",
        };
        let path = dir.path().join(format!("s{i}.safetensors"));
        let student = CnnStudent(net);
        student.save(&path, &varmap, &meta).unwrap();
        let net = &student.0;
        let model = export::FloatModel::load(&path).unwrap();
        let export::FloatBody::Cnn(saved) = &model.body else {
            panic!("not a CNN")
        };
        assert_eq!(saved.len(), net.plan().layers().len());
        let f: usize = shape.iter().product();
        let n = 40;
        let x = randn(&[n, f], 20 + i as u64);
        let logits = net.forward(&x, &mut Mode::Eval).unwrap();
        let logits: Vec<Vec<f32>> = logits.to_vec2().unwrap();
        let rows: Vec<Vec<f32>> = x.to_vec2().unwrap();
        let mut compared = 0;
        for (row, l) in rows.iter().zip(&logits) {
            let mut sorted = l.clone();
            sorted.sort_by(|a, b| b.total_cmp(a));
            if sorted[0] - sorted[1] < 1e-4 {
                continue;
            }
            let ours = export::float_forward::argmax(l);
            assert_eq!(
                export::float_forward::predict(&model, row),
                ours,
                "{layers:?}"
            );
            compared += 1;
        }
        assert!(compared > n / 2, "{compared} of {n} compared");
    }
}

fn distinct(shape: &[usize]) -> Tensor {
    // Values 0.01 apart in a scrambled order: no two within a finite-difference step.
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|i| ((i * 37 + 11) % n) as f32 * 0.01 - n as f32 * 0.005)
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

/// Gradient of `sum(f(x) · probe)` with respect to `x` by autograd and by central
/// differences, f64 sums of f32 values.
fn gradients(x: &Tensor, f: impl Fn(&Tensor) -> Tensor) -> (Vec<f32>, Vec<f32>) {
    let var = Var::from_tensor(x).unwrap();
    let probe = randn(f(x).dims(), 99);
    let objective = |t: &Tensor| (f(t) * &probe).unwrap().sum_all().unwrap();
    let grads = objective(var.as_tensor()).backward().unwrap();
    let analytic: Vec<f32> = grads
        .get(&var)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let base: Vec<f32> = x.flatten_all().unwrap().to_vec1().unwrap();
    let eps = 1e-3f32;
    let numeric = (0..base.len())
        .map(|i| {
            let at = |d: f32| {
                let mut v = base.clone();
                v[i] += d;
                let t = Tensor::from_vec(v, x.shape(), x.device()).unwrap();
                objective(&t).to_scalar::<f32>().unwrap()
            };
            (at(eps) - at(-eps)) / (2.0 * eps)
        })
        .collect();
    (analytic, numeric)
}

fn assert_close(a: &[f32], b: &[f32], tol: f32, what: &str) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "{what}: element {i}: {x} against {y}"
        );
    }
}

#[test]
fn max_pool_matches_the_composition_and_finite_differences() {
    // 2×3 windows on 5×7: a partial row and a partial column are dropped.
    let x = distinct(&[2, 3, 5, 7]);
    let ours = max_pool(&x, (2, 3)).unwrap();
    assert_eq!(ours.dims(), &[2, 3, 2, 2]);
    let theirs = max_pool_composed(&x, (2, 3)).unwrap();
    assert_close(
        &ours.flatten_all().unwrap().to_vec1().unwrap(),
        &theirs.flatten_all().unwrap().to_vec1().unwrap(),
        0.0,
        "forward",
    );
    let (analytic, numeric) = gradients(&x, |t| max_pool(t, (2, 3)).unwrap());
    assert_close(&analytic, &numeric, 1e-2, "max-pool gradient");
    let (composed, _) = gradients(&x, |t| max_pool_composed(t, (2, 3)).unwrap());
    assert_close(&analytic, &composed, 1e-6, "against the composition");
    // Average pooling on a size the windows do not tile.
    let (analytic, numeric) = gradients(&x, |t| avg_pool(t, (2, 3)).unwrap());
    assert_close(&analytic, &numeric, 1e-2, "avg-pool gradient");
}

#[test]
fn bias_relu_matches_the_composition_and_finite_differences() {
    // Values 0.01 apart and biases 0.005 off that grid: no sum within a step of the kink.
    let y = distinct(&[2, 3, 4, 5]);
    let bias = Tensor::new(&[0.305f32, -0.215, 0.005], &Device::Cpu).unwrap();
    let flat = |t: Tensor| -> Vec<f32> { t.flatten_all().unwrap().to_vec1().unwrap() };
    assert_close(
        &flat(bias_relu(&y, &bias).unwrap()),
        &flat(bias_relu_composed(&y, &bias).unwrap()),
        0.0,
        "forward",
    );
    let (analytic, numeric) = gradients(&y, |t| bias_relu(t, &bias).unwrap());
    assert_close(&analytic, &numeric, 1e-2, "gradient of y");
    let (composed, _) = gradients(&y, |t| bias_relu_composed(t, &bias).unwrap());
    assert_close(&analytic, &composed, 1e-6, "against the composition");
    let (analytic, numeric) = gradients(&bias, |b| bias_relu(&y, b).unwrap());
    assert_close(&analytic, &numeric, 1e-2, "gradient of the bias");
    let (composed, _) = gradients(&bias, |b| bias_relu_composed(&y, b).unwrap());
    assert_close(&analytic, &composed, 1e-5, "bias, against the composition");
}

/// Why `pool` exists: candle 0.11's max_pool2d backward gives a 2×2 window's unique maximum
/// a quarter of the gradient. When this fails, candle has fixed it and `pool::max_pool` could
/// use candle's op again.
#[test]
fn candle_max_pool_backward_is_scaled() {
    let x = Var::from_tensor(&distinct(&[1, 1, 2, 2])).unwrap();
    let grads = x
        .as_tensor()
        .max_pool2d(2)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let g: Vec<f32> = grads
        .get(&x)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let mut sorted = g.clone();
    sorted.sort_by(f32::total_cmp);
    assert_eq!(sorted, [0.0, 0.0, 0.0, 0.25], "{g:?}");
}

/// Strides, unequal paddings (a sequence) and unread trailing columns pass candle's conv
/// backward: the input's gradient equals finite differences through the whole network.
#[test]
fn the_network_gradient_matches_finite_differences() {
    for (layers, shape) in [
        (&["conv 3 k3 s2", "dwconv k3 s2 valid"][..], &[2, 9, 8][..]),
        (
            &["conv 3 k5 s3", "avgpool 2", "dwconv k3"][..],
            &[2, 23][..],
        ),
    ] {
        let (net, _) = net(layers, shape, 4, 5);
        let f: usize = shape.iter().product();
        let x = distinct(&[2, f]);
        let (analytic, numeric) = gradients(&x, |t| net.forward(t, &mut Mode::Eval).unwrap());
        assert_close(&analytic, &numeric, 2e-2, &format!("{layers:?}"));
    }
}

/// A few epochs through the kind's `build` and the training loop on a made-up image task (a
/// bright 2×2 blob in one of four quadrants: a flatten keeps where it is), then a save that
/// export loads.
#[test]
fn it_learns_a_small_image_task_through_the_pipeline() {
    let (side, classes) = (8, 4);
    let make = |n: usize, seed: u64| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for _ in 0..n {
            let c = rng.random_range(0..classes);
            let mut img: Vec<f32> = (0..side * side)
                .map(|_| rng.random_range(0.0..0.3))
                .collect();
            let (qy, qx) = (c / 2 * 4, c % 2 * 4);
            let (oy, ox) = (qy + rng.random_range(0..3), qx + rng.random_range(0..3));
            for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                img[(oy + dy) * side + ox + dx] = 1.0;
            }
            x.extend(img);
            y.push(c as u32);
        }
        Dataset {
            x,
            y,
            shape: vec![1, side, side],
            num_classes: classes,
        }
    };
    let bundle = DataBundle {
        train: make(400, 1),
        test: make(200, 2),
        class_names: (0..classes).map(|c| format!("q{c}")).collect(),
        source: "made up".into(),
    };
    let mut cfg = Config::default();
    cfg.student.kind = NAME.into();
    store_settings(&mut cfg, NAME, &cnn(&["conv 4", "maxpool 4"])).unwrap();
    cfg.validate().unwrap();
    let p = Prepared::new(&cfg, bundle, Device::Cpu).unwrap();
    let varmap = VarMap::new();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let student = CnnKind.build(&cfg, &p, &varmap, &mut rng).unwrap();
    let data = TrainData {
        x: &p.train_x,
        y: &p.train_y,
        teacher: None,
        label_mask: None,
        val_x: &p.val_x,
        val_y: &p.val_y,
    };
    let dir = tempfile::tempdir().unwrap();
    let job = Job {
        stage: "cnn",
        cfg: TrainConfig {
            epochs: 8,
            batch_size: 32,
            lr: 1e-2,
            ..TrainConfig::default()
        },
        kd: None,
        seed: 4,
        checkpoint: dir.path().join("c.safetensors"),
        resume: false,
        augment: None,
        fast: true,
    };
    let trained = train(
        student.classifier(),
        &varmap,
        &data,
        &job,
        &mut Metrics::none(),
        &EpochProgress::new(false),
    )
    .unwrap();
    let losses: Vec<f64> = trained.history.iter().map(|r| r.loss).collect();
    println!("losses {losses:?}");
    assert!(
        losses.last().unwrap() < &(0.3 * losses[0]),
        "the loss did not fall: {losses:?}"
    );
    let logits = crate::nn::predict_logits(student.classifier(), &p.test_x, 64).unwrap();
    let acc = crate::run::logits_accuracy(&logits, &p.test_y).unwrap();
    assert!(acc > 90.0, "test accuracy {acc}%");
    let path = dir.path().join("student.safetensors");
    let meta = StudentMeta {
        input_shape: &p.shape,
        classes: &p.class_names,
        norm: &p.norm,
        config_toml: "",
    };
    student.save(&path, &varmap, &meta).unwrap();
    let model = export::FloatModel::load(&path).unwrap();
    assert_eq!(
        model.cnn_plan().unwrap().unwrap().to_string(),
        "conv 4 k3 s1 same;maxpool 4;dense 4"
    );
}

/// The student's parameters after one epoch of three steps (batches 5, 5, 3) through the
/// pipeline's loop, with the hand-written step (`fast`) or candle's autograd.
fn trained_params(layers: &[&str], shape: &[usize], fast: bool) -> Vec<(String, Vec<f32>)> {
    let classes = 4;
    let (student, varmap) = net(layers, shape, classes, 21);
    let f: usize = shape.iter().product();
    let x = randn(&[13, f], 22);
    let y = Tensor::from_vec((0..13u32).map(|i| i % 4).collect(), 13, &Device::Cpu).unwrap();
    let teacher = randn(&[13, classes], 23);
    let data = TrainData {
        x: &x,
        y: &y,
        teacher: Some(&teacher),
        label_mask: None,
        val_x: &x,
        val_y: &y,
    };
    let dir = tempfile::tempdir().unwrap();
    let job = Job {
        stage: "twin",
        cfg: TrainConfig {
            epochs: 1,
            batch_size: 5,
            lr: 1e-2,
            weight_decay: 0.01,
            patience: 0,
            ..TrainConfig::default()
        },
        kd: Some(crate::training::loss::KdLoss::default()),
        seed: 5,
        checkpoint: dir.path().join("c.safetensors"),
        resume: false,
        augment: None,
        fast,
    };
    let none = EpochProgress::new(false);
    train(&student, &varmap, &data, &job, &mut Metrics::none(), &none).unwrap();
    let mut names: Vec<String> = varmap.data().lock().unwrap().keys().cloned().collect();
    names.sort();
    let data = varmap.data().lock().unwrap();
    names
        .into_iter()
        .map(|n| {
            let v = data[&n]
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            (n, v)
        })
        .collect()
}

/// On the CPU the student trains through `nn::fast_cnn`; it must move every parameter as
/// candle's autograd on the student's own forward does (KD targets, weight decay).
#[test]
fn the_fast_step_trains_the_student_as_autograd_does() {
    for (layers, shape) in [(IMAGE, IMAGE_SHAPE), (SEQUENCE, SEQUENCE_SHAPE)] {
        let (slow, fast) = (
            trained_params(layers, shape, false),
            trained_params(layers, shape, true),
        );
        // Or both runs would train through autograd and agree trivially.
        let (student, varmap) = net(layers, shape, 4, 21);
        let AdamW::Fused(opt) = AdamW::new(&varmap, AdamWConfig::default()).unwrap() else {
            unreachable!("CPU variables get the fused optimizer")
        };
        assert!(student.fast_step(&opt, 5).unwrap().is_some());
        for ((name, a), (_, b)) in slow.iter().zip(&fast) {
            assert_close(a, b, 5e-5, name);
        }
    }
}
