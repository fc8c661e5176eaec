//! The test macros every kernel variant instantiates: `dot_rows_tests!` here (exact equality
//! with the reference on random shapes, lengths 0, 1, 3 and non-multiples of 4 included, and
//! on extremes), `conv_tests!` and `pool_tests!` in `windows` (exact equality with a naive
//! oracle).

/// `dot_rows_tests!(path::to::variant)` inside a `#[cfg(test)] mod`.
#[cfg(test)]
macro_rules! dot_rows_tests {
    ($variant:path) => {
        use crate::kernels::{prep_words, reference::dot as reference};
        use proptest::prelude::*;
        use $variant as variant;

        fn run(rows: usize, input: &[i8], weights: &[i8]) -> Result<(), TestCaseError> {
            let mut prep = vec![0xdead_beef_u32; prep_words(input.len())];
            prop_assert!(variant::prepare(input, &mut prep));
            let mut got = vec![0x5555_5555_i32; rows];
            prop_assert!(variant::dot_rows(weights, input, &prep, &mut got));
            let mut want = vec![0i32; rows];
            prop_assert!(reference::prepare(input, &mut []));
            prop_assert!(reference::dot_rows(weights, input, &[], &mut want));
            for (r, (g, w)) in got.iter().zip(&want).enumerate() {
                prop_assert_eq!(
                    g,
                    w,
                    "row {} (cols {}): actual {} expected {}",
                    r,
                    input.len(),
                    g,
                    w
                );
            }
            Ok(())
        }

        fn lengths() -> impl Strategy<Value = usize> {
            prop_oneof![
                Just(0usize),
                Just(1),
                Just(3),
                Just(5),
                Just(7),
                Just(13),
                Just(31),
                0usize..200
            ]
        }

        proptest! {
            #[test]
            fn matches_reference(rows in 0usize..11, cols in lengths(), seed in any::<u64>()) {
                let mut s = seed | 1;
                let mut next = || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; s as i8 };
                let input: Vec<i8> = (0..cols).map(|_| next()).collect();
                let weights: Vec<i8> = (0..rows * cols).map(|_| next().max(-127)).collect();
                run(rows, &input, &weights)?;
            }
        }

        #[test]
        fn extremes() {
            for cols in [0, 1, 3, 4, 8, 9, 784] {
                for (w, x) in [(-127i8, -128i8), (127, -128), (127, 127), (-127, 127)] {
                    let input = vec![x; cols];
                    run(6, &input, &vec![w; 6 * cols]).unwrap();
                }
            }
        }

        #[test]
        fn short_slices_are_refused() {
            let input = [1i8; 8];
            let mut prep = vec![0u32; prep_words(8)];
            assert!(variant::prepare(&input, &mut prep));
            let mut acc = [7i32; 2];
            assert!(!variant::dot_rows(&[1i8; 15], &input, &prep, &mut acc));
            assert_eq!(acc, [7, 7]);
        }
    };
}

/// The window families' random cases and naive oracle.
#[cfg(test)]
pub(crate) mod oracle;

/// The window families' test macros (`conv_tests!`, `pool_tests!`).
#[cfg(test)]
#[macro_use]
mod windows;
