//! The test-vector file `export` writes (`runtime_nostd::format::vectors`), as `build.rs`
//! embeds it: `x_q` I8 [N,F], `class` U8 [N], `logits` I8 [N,C], optionally `label` U8 [N]
//! (absent when the evaluation data had no labels), and in the metadata the `artifact_sha256`
//! of the model they were computed with. Its own file so that the host tests can parse
//! fixtures with it (`tests/vectors_file.rs`).

use runtime_nostd::format::vectors as names;
use safetensors::{Dtype, SafeTensors};

pub struct Vectors {
    pub n: usize,
    pub f: usize,
    pub c: usize,
    pub x_q: Vec<u8>,
    pub class: Vec<u8>,
    pub logits: Vec<u8>,
    /// `None` when the file has no `label`: the firmware then has no ground truth.
    pub label: Option<Vec<u8>>,
}

impl Vectors {
    /// Parses `raw`, keeping the first `max` vectors (all when `None`); `model_sha` is the hex
    /// SHA-256 of the artifact they must belong to.
    pub fn parse(raw: &[u8], max: Option<usize>, model_sha: &str) -> Result<Self, String> {
        let (_, meta) = SafeTensors::read_metadata(raw).map_err(|e| e.to_string())?;
        let tag = meta
            .metadata()
            .as_ref()
            .and_then(|m| m.get(names::meta::ARTIFACT_SHA256).cloned());
        match tag {
            Some(s) if s != model_sha => {
                return Err(format!(
                    "made for the artifact with SHA-256 {s}, not this one ({model_sha})"
                ));
            }
            Some(_) => {}
            None => println!(
                "cargo:warning=test vectors carry no {}: cannot check they belong to the model",
                names::meta::ARTIFACT_SHA256
            ),
        }
        let st = SafeTensors::deserialize(raw).map_err(|e| e.to_string())?;
        let get = |name: &str, dtype: Dtype, rank: usize| -> Result<(Vec<usize>, &[u8]), String> {
            let t = st.tensor(name).map_err(|e| format!("{name}: {e}"))?;
            if t.dtype() != dtype || t.shape().len() != rank {
                return Err(format!(
                    "{name}: want {dtype:?} of rank {rank}, found {:?} {:?}",
                    t.dtype(),
                    t.shape()
                ));
            }
            Ok((t.shape().to_vec(), t.data()))
        };
        let (xs, x_q) = get(names::X_Q, Dtype::I8, 2)?;
        let (cs, class) = get(names::CLASS, Dtype::U8, 1)?;
        let (ls, logits) = get(names::LOGITS, Dtype::I8, 2)?;
        // Optional: export writes it only when the evaluation data had labels.
        let label = if st.names().contains(&names::LABEL) {
            Some(get(names::LABEL, Dtype::U8, 1)?)
        } else {
            None
        };
        let (n, f, c) = (xs[0], xs[1], ls[1]);
        let label_ok = label.as_ref().is_none_or(|(bs, _)| bs[0] == n);
        if cs[0] != n || ls[0] != n || !label_ok || n == 0 || f == 0 || c == 0 {
            return Err(format!(
                "inconsistent shapes: x_q {xs:?} class {cs:?} logits {ls:?} label {:?}",
                label.as_ref().map(|(bs, _)| bs)
            ));
        }
        let k = max.map_or(n, |m| m.min(n));
        Ok(Self {
            n: k,
            f,
            c,
            x_q: x_q[..k * f].to_vec(),
            class: class[..k].to_vec(),
            logits: logits[..k * c].to_vec(),
            label: label.map(|(_, l)| l[..k].to_vec()),
        })
    }
}
