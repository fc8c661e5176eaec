//! Device choice: CUDA when built with the `cuda` feature and a GPU answers, else the CPU.
use candle_core::Device;

use crate::error::{Error, Result, bail};

/// `auto`, `cpu` or `cuda:N`. Logs the choice on stderr.
pub fn choose(spec: &str) -> Result<Device> {
    let dev = match spec {
        "cpu" => Device::Cpu,
        "auto" => auto(),
        s if s.starts_with("cuda") => {
            let idx: usize = s
                .strip_prefix("cuda")
                .and_then(|r| r.strip_prefix(':').or(Some(r)))
                .filter(|r| !r.is_empty())
                .map_or(Ok(0), |r| r.parse())
                .map_err(|_| Error::Config(format!("--device {s}: expected cuda:N")))?;
            cuda(idx)?
        }
        other => bail!(Config, "--device {other}: expected auto, cpu or cuda:N"),
    };
    eprintln!("device: {}", describe(&dev));
    Ok(dev)
}

fn describe(d: &Device) -> String {
    match d {
        Device::Cpu => format!("CPU ({} threads)", candle_core::utils::get_num_threads()),
        other => format!("{other:?}"),
    }
}

#[cfg(feature = "cuda")]
fn cuda(i: usize) -> Result<Device> {
    Device::new_cuda(i).map_err(|e| Error::Device(format!("CUDA device {i} is not usable: {e}")))
}

#[cfg(not(feature = "cuda"))]
fn cuda(_: usize) -> Result<Device> {
    bail!(
        Device,
        "this binary was built without CUDA; rebuild with --features cuda"
    )
}

fn auto() -> Device {
    #[cfg(feature = "cuda")]
    if let Ok(d) = Device::new_cuda(0) {
        return d;
    }
    Device::Cpu
}
