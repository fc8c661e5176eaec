//! `testset-to-safetensors DIR PREFIX OUT [ROWS]`: writes the IDX set `DIR/PREFIX-*` (its
//! first ROWS inputs, default all) as the `x` F32 / `y` U32 safetensors file that
//! `export --eval` and `--calib` read.

use std::path::PathBuf;
use std::process::ExitCode;

use regression_tests::TestSet;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, prefix, out, rows) = match &args[..] {
        [d, p, o] => (d, p, o, Ok(usize::MAX)),
        [d, p, o, n] => (d, p, o, n.parse::<usize>()),
        _ => {
            eprintln!("usage: testset-to-safetensors DIR PREFIX OUT [ROWS]");
            return ExitCode::FAILURE;
        }
    };
    let Ok(rows) = rows else {
        eprintln!("ROWS must be a number");
        return ExitCode::FAILURE;
    };
    match write(PathBuf::from(dir), prefix, PathBuf::from(out), rows) {
        Ok(rows) => {
            println!("{out}: {rows} rows");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write(dir: PathBuf, prefix: &str, out: PathBuf, rows: usize) -> regression_tests::Result<usize> {
    let t = TestSet::load_idx(&dir, prefix)?.take(rows);
    let d = export::Dataset::new(t.x.clone(), t.features, Some(t.y.clone()))?;
    std::fs::write(&out, d.to_safetensors_bytes()?).map_err(|source| {
        regression_tests::Error::Io {
            path: out.clone(),
            source,
        }
    })?;
    Ok(t.rows())
}
