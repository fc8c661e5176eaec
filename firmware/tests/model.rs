//! The glue on the host: `RuntimeClassifier` (the app's view of the model) and `selftest::run`
//! over the artifact and vectors the firmware embeds (`MICRODISTILL_MODEL`, else the committed
//! demo model), with the runtime's host kernels. The device runs the same code under QEMU.

use microdistill_firmware::app::Classifier;
use microdistill_firmware::model::RuntimeClassifier;
use microdistill_firmware::selftest::{self, Vectors};
use runtime_nostd::format::vectors as names;
use runtime_nostd::{Error, Model};
use safetensors::SafeTensors;

const DEFAULT_MODEL: &str = "../tests/fixtures/demo-mlp.int8.safetensors";

fn artifact() -> (Vec<u8>, Vec<u8>) {
    let model = std::env::var("MICRODISTILL_MODEL").unwrap_or_else(|_| DEFAULT_MODEL.into());
    let vectors = std::env::var("MICRODISTILL_VECTORS")
        .unwrap_or_else(|_| model.replace(".int8.safetensors", ".vectors.safetensors"));
    let read = |p: &str| std::fs::read(p).unwrap_or_else(|e| panic!("{p}: {e}"));
    (read(&model), read(&vectors))
}

#[test]
fn every_vector_agrees_through_the_app_classifier() {
    let (model_bytes, vector_bytes) = artifact();
    let model = Model::from_bytes(&model_bytes).unwrap();
    let st = SafeTensors::deserialize(&vector_bytes).unwrap();
    let bytes = |name: &str| {
        st.tensor(name)
            .map(|t| t.data().to_vec())
            .unwrap_or_default()
    };
    let i8s = |v: Vec<u8>| v.into_iter().map(|b| b as i8).collect::<Vec<i8>>();
    let (x_q, logits) = (i8s(bytes(names::X_Q)), i8s(bytes(names::LOGITS)));
    // `label` is optional: empty without it, as the firmware embeds it.
    let (class, label) = (bytes(names::CLASS), bytes(names::LABEL));
    let v = Vectors {
        x_q: &x_q,
        class: &class,
        logits: &logits,
        label: &label,
        features: model.input_len(),
        classes: model.num_classes(),
    };

    let mut scratch = vec![0u8; model.scratch_len()];
    let mut out = vec![0i8; model.num_classes()];
    let mut c = RuntimeClassifier::new(model, &mut scratch, &mut out).unwrap();
    let mut buf = vec![0i8; v.classes];
    let report = selftest::run(
        &v,
        &mut buf,
        |x, l| {
            let class = c.classify(x)?;
            l.copy_from_slice(c.logits());
            Ok::<u8, Error>(class)
        },
        |m| panic!("{m:?}"),
    )
    .unwrap();
    assert!(report.passed(), "{report:?}");
}

#[test]
fn buffers_too_small_for_the_model_are_refused_up_front() {
    let (model_bytes, _) = artifact();
    let model = Model::from_bytes(&model_bytes).unwrap();
    let mut scratch = vec![0u8; model.scratch_len() - 1];
    let mut logits = vec![0i8; model.num_classes()];
    let short = RuntimeClassifier::new(model, &mut scratch, &mut logits);
    assert_eq!(short.err(), Some(Error::ScratchTooSmall));
    let mut scratch = vec![0u8; model.scratch_len()];
    let mut logits = vec![0i8; model.num_classes() - 1];
    let short = RuntimeClassifier::new(model, &mut scratch, &mut logits);
    assert_eq!(short.err(), Some(Error::LogitsLength));
}
