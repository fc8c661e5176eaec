//! The test macros of the window kernel families, over the cases and oracle of `oracle.rs`.

/// `conv_tests!(path::to::variant)` inside a `#[cfg(test)] mod`: the variant's `conv2d` and
/// `depthwise_conv2d` equal the oracle on random cases, and refuse short slices.
macro_rules! conv_tests {
    ($variant:path) => {
        use crate::kernels::frame::oracle;
        use proptest::prelude::*;
        use $variant as variant;

        fn check(case: &oracle::ConvCase, depthwise: bool) -> Result<(), TestCaseError> {
            let f = if depthwise {
                variant::depthwise_conv2d
            } else {
                variant::conv2d
            };
            let mut got = vec![0x55i8; case.window.output.len()];
            let q = case.quant();
            prop_assert!(f(
                &case.input,
                &case.weights,
                &case.window,
                case.pad,
                &q,
                &mut got
            ));
            let want = oracle::conv(case, depthwise);
            let bad = oracle::mismatch(case.window.output, &got, &want);
            prop_assert!(bad.is_none(), "{}", bad.unwrap_or_default());
            Ok(())
        }

        proptest! {
            #[test]
            fn conv2d_matches_oracle(seed in any::<u64>()) {
                check(&oracle::conv_case(seed, false), false)?;
            }

            #[test]
            fn depthwise_conv2d_matches_oracle(seed in any::<u64>()) {
                check(&oracle::conv_case(seed, true), true)?;
            }
        }

        #[test]
        fn extremes_and_short_slices() {
            for seed in 1..40u64 {
                for dw in [false, true] {
                    let mut case = oracle::conv_case(seed, dw);
                    let x = if seed.is_multiple_of(2) { -128 } else { 127 };
                    case.input.fill(x);
                    case.pad = x;
                    case.weights
                        .fill(if seed.is_multiple_of(3) { -127 } else { 127 });
                    check(&case, dw).unwrap();
                    let f = if dw {
                        variant::depthwise_conv2d
                    } else {
                        variant::conv2d
                    };
                    let (w, q) = (case.window, case.quant());
                    let mut out = vec![7i8; w.output.len()];
                    let short = |v: &[i8]| v.len().saturating_sub(1);
                    let (i, k) = (&case.input, &case.weights);
                    assert!(!f(&i[..short(i)], k, &w, 0, &q, &mut out));
                    assert!(!f(i, &k[..short(k)], &w, 0, &q, &mut out));
                    let n = out.len() - 1;
                    assert!(!f(i, k, &w, 0, &q, &mut out[..n]));
                    let mut few = case.quant();
                    few.shift = &few.shift[1..];
                    assert!(!f(i, k, &w, 0, &few, &mut out));
                    assert!(out.iter().all(|&v| v == 7));
                }
            }
        }
    };
}

/// `pool_tests!(path::to::variant)` inside a `#[cfg(test)] mod`: the variant's `max_pool`
/// and `avg_pool` equal the oracle on random cases (gap included), and refuse padding, a
/// window leaving the input and short slices.
macro_rules! pool_tests {
    ($variant:path) => {
        use crate::kernels::frame::oracle;
        use proptest::prelude::*;
        use $variant as variant;

        proptest! {
            #[test]
            fn pools_match_oracle(seed in any::<u64>()) {
                let (w, input) = oracle::pool_case(seed);
                for max in [true, false] {
                    let f = if max { variant::max_pool } else { variant::avg_pool };
                    let mut got = vec![0x55i8; w.output.len()];
                    prop_assert!(f(&input, &w, &mut got));
                    let bad = oracle::mismatch(w.output, &got, &oracle::pool(&w, &input, max));
                    prop_assert!(bad.is_none(), "max {}: {}", max, bad.unwrap_or_default());
                }
            }
        }

        #[test]
        fn refused_geometry_writes_nothing() {
            let (w, input) = oracle::pool_case(3);
            for f in [variant::max_pool, variant::avg_pool] {
                let mut out = vec![7i8; w.output.len() + 1];
                let padded = crate::kernels::Window { pad_top: 1, ..w };
                assert!(!f(&input, &padded, &mut out));
                let mut wide = w;
                wide.output.w += 1;
                assert!(!f(&input, &wide, &mut out));
                let mut other = w;
                other.output.c += 1;
                assert!(!f(&input, &other, &mut out));
                assert!(!f(&input[1..], &w, &mut out));
                let n = w.output.len() - 1;
                assert!(!f(&input, &w, &mut out[..n]));
                assert!(out.iter().all(|&v| v == 7));
            }
        }
    };
}
