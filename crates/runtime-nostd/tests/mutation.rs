//! Deterministic mutation test: truncations, bit flips, byte writes and header edits of real
//! artifacts must each give `Ok` or `Err`, never a panic; whatever loads must also infer.

mod common;
use common::{Artifact, Rng};
use runtime_nostd::Model;

/// Loads `bytes`; when that succeeds, runs inference on a few inputs with exact buffers.
/// Returns whether it loaded.
fn exercise(bytes: &[u8], rng: &mut Rng) -> bool {
    let Ok(m) = Model::from_bytes(bytes) else {
        return false;
    };
    let mut scratch = vec![0u8; m.scratch_len()];
    let mut logits = vec![0i8; m.num_classes()];
    for _ in 0..2 {
        let input: Vec<i8> = (0..m.input_len()).map(|_| rng.i8()).collect();
        let p = m
            .infer(&input, &mut scratch, &mut logits)
            .expect("a loaded model infers");
        assert!(p.class < m.num_classes());
    }
    let x: Vec<f32> = (0..m.input_len()).map(|i| i as f32 * 0.37 - 3.0).collect();
    let mut q = vec![0i8; m.input_len()];
    m.quantize_input(&x, &mut q).expect("lengths match");
    let _ = m.class_name(m.num_classes() - 1).expect("class name");
    true
}

fn header_len(bytes: &[u8]) -> usize {
    8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize
}

/// Replaces the header, fixing the length prefix, so the edit reaches the JSON checks.
fn with_header(bytes: &[u8], header: &[u8]) -> Vec<u8> {
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(header);
    v.extend_from_slice(&bytes[header_len(bytes)..]);
    v
}

#[test]
fn mutations_never_panic() {
    let artifacts = [
        Artifact::tiny_mlp().bytes(),
        Artifact::tiny_tree().bytes(),
        Artifact::random_mlp(&[21, 9, 6, 4], 11).bytes(),
        Artifact::random_tree(3, 13, 5, 12).bytes(),
        Artifact::random_cnn(&[2, 5, 5], "conv 3 k3 s1 same;maxpool 2;dense 4", 4, 13).bytes(),
        Artifact::random_cnn(&[3, 7], "dwconv k3 s2 valid;avgpool 1;gap;dense 2", 2, 14).bytes(),
    ];
    let mut rng = Rng(0x5eed);
    let (mut tried, mut loaded) = (0usize, 0usize);
    let mut count = |ok: bool| {
        tried += 1;
        loaded += usize::from(ok);
    };
    for original in &artifacts {
        assert!(exercise(original, &mut rng), "the unmutated artifact loads");
        let hl = header_len(original);
        // Every truncation.
        for n in 0..original.len() {
            count(exercise(&original[..n], &mut rng));
        }
        // Every byte of the header and a sample of the data, one random bit flipped.
        for i in (0..original.len()).filter(|&i| i < hl || i % 3 == 0) {
            let mut b = original.clone();
            b[i] ^= 1 << rng.below(8);
            count(exercise(&b, &mut rng));
        }
        // Random bytes written at random places, 1 to 4 at a time.
        for _ in 0..1500 {
            let mut b = original.clone();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
            count(exercise(&b, &mut rng));
        }
        let header = &original[8..hl];
        // Header edits with the length fixed up: digits changed, bytes deleted, inserted,
        // a span duplicated (duplicate keys, extra tensors).
        for _ in 0..1500 {
            let mut h = header.to_vec();
            match rng.below(4) {
                0 => {
                    let digits: Vec<usize> =
                        (0..h.len()).filter(|&i| h[i].is_ascii_digit()).collect();
                    let i = digits[rng.below(digits.len())];
                    h[i] = b"0123456789-.e"[rng.below(13)];
                }
                1 => {
                    let i = rng.below(h.len());
                    h.remove(i);
                }
                2 => {
                    let i = rng.below(h.len());
                    h.insert(i, b"{}[],:\" 0x|"[rng.below(11)]);
                }
                _ => {
                    let a = rng.below(h.len());
                    let len = rng.below(80).min(h.len() - a);
                    let span = h[a..a + len].to_vec();
                    let at = rng.below(h.len());
                    h.splice(at..at, span);
                }
            }
            count(exercise(&with_header(original, &h), &mut rng));
        }
    }
    println!("{tried} mutants, {loaded} loaded and inferred");
    assert!(tried > 10_000);
}
