//! The one bound on labels, shared by every loader: a label picks a class, so it must fit the
//! device's class table. Checking each label before anything is sized by it keeps a corrupt
//! or misaligned label column from allocating gigabytes or wrapping `max + 1` to zero.

/// The device's limit (a tree's `leaf_class` is one byte); a larger table could be trained
/// here but never exported.
pub const MAX_CLASSES: usize = runtime_nostd::format::MAX_CLASSES;

/// Accepts `value` as a class index, or says why not (without the location: the caller adds
/// the file and the line or index). `f64` holds every IDX label type and every `u32` exactly.
pub(crate) fn check_label(value: f64) -> Result<u32, String> {
    if value >= 0.0 && value.fract() == 0.0 && value < MAX_CLASSES as f64 {
        return Ok(value as u32);
    }
    if value.fract() != 0.0 || !value.is_finite() {
        return Err(format!("label {value} is not a whole number"));
    }
    Err(format!(
        "label {value} is out of range: at most {MAX_CLASSES} classes (labels 0..={})",
        MAX_CLASSES - 1
    ))
}

/// Accepts a list of `n` named classes (a `.ts` file's `@classLabel`), or says why not: the
/// same bound as [`check_label`], counted before any label is mapped to an index.
pub(crate) fn check_class_count(n: usize) -> Result<(), String> {
    if n <= MAX_CLASSES {
        return Ok(());
    }
    Err(format!(
        "{n} classes listed: at most {MAX_CLASSES} classes (labels 0..={})",
        MAX_CLASSES - 1
    ))
}

/// The class count of checked labels: one past the largest (never overflows, since every
/// label passed `check_label`).
pub(crate) fn class_count(y: &[u32]) -> usize {
    y.iter().max().map_or(0, |&m| m as usize + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_the_class_index() {
        assert_eq!(check_label(0.0), Ok(0));
        assert_eq!(check_label(255.0), Ok(255));
        let e = check_label(256.0).unwrap_err();
        assert!(e.contains("label 256 is out of range"), "{e}");
        assert!(e.contains("at most 256 classes (labels 0..=255)"), "{e}");
        assert!(
            check_label(-1.0)
                .unwrap_err()
                .contains("label -1 is out of range")
        );
        assert!(check_label(2.5).unwrap_err().contains("not a whole number"));
        assert!(check_label(f64::NAN).is_err());
        assert!(
            check_label(4_294_967_295.0)
                .unwrap_err()
                .contains("4294967295")
        );
        assert_eq!(check_class_count(256), Ok(()));
        let e = check_class_count(257).unwrap_err();
        assert!(e.contains("257 classes listed: at most 256 classes"), "{e}");
        assert_eq!(class_count(&[3, 0, 255]), 256);
        assert_eq!(class_count(&[]), 0);
    }
}
