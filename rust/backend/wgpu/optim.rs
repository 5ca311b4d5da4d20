//! GPU optimizer updates (`optim.wgsl`): one kernel per float32 variable reads the variable,
//! its gradient and slots, and writes their new values, which the variable and slots then hold
//! (the arithmetic of the host's fused loops in `crate::optim`, in float32).

use super::{buffer_of, context, elementwise, gpu_tensor, GpuBuffer};
use crate::device::Device;
use crate::dtype::DType;
use crate::optim::Rule;
use crate::tensor::Tensor;
use crate::{Result, Variable};
use std::sync::Mutex;

const SHADER: &str = include_str!("optim.wgsl");

/// Adam's bias correction of the last step on the GPU, shared by the step's variables.
static BIAS: Mutex<Option<([u32; 2], Tensor)>> = Mutex::new(None);

/// A GPU tensor holding `values` (Adam's bias correction): one upload per step, however many
/// variables the step updates.
fn bias_buffer(values: [f32; 2]) -> Result<Tensor> {
    let key = values.map(f32::to_bits);
    let mut last = BIAS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((k, t)) = last.as_ref() {
        if *k == key {
            return Ok(t.clone());
        }
    }
    let t = Tensor::from_vec(values.to_vec(), &[2])?.to_device(Device::Gpu)?;
    *last = Some((key, t.clone()));
    Ok(t)
}

/// Updates GPU float32 variable `var` (gradient `grad`, slots `slots`, checked by the caller)
/// with one kernel, or `None` when the adapter cannot bind the buffers the rule needs, a
/// tensor is too large for the GPU, or a value is not float32 (the update then runs as ops).
pub(crate) fn update(
    rule: &Rule,
    lr: &Tensor,
    step: &Tensor,
    var: &Variable,
    grad: &Tensor,
    slots: &[Variable],
) -> Option<Result<()>> {
    let c = context().ok()?;
    let adam = matches!(rule, Rule::Adam { .. });
    let buffers = 4 + 2 * slots.len() as u32 + 1 + u32::from(adam);
    if c.device.limits().max_storage_buffers_per_shader_stage < buffers {
        return None;
    }
    let value = var.peek();
    let f32_like = |t: &Tensor| t.dtype() == DType::F32 && t.shape() == value.shape();
    if !f32_like(&value)
        || !f32_like(grad)
        || !slots.iter().all(|s| f32_like(&s.peek()))
        || lr.numel() != 1
    {
        return None;
    }
    let n = elementwise::elements(value.shape()).ok()?;
    if !super::fits(n as u64 * 4) {
        return None;
    }
    let run = || -> Result<()> {
        let f = |x: f64| (x as f32).to_bits() as i32;
        let mut bias = None;
        let (entry, consts) = match *rule {
            Rule::Sgd { momentum: 0.0, .. } => ("sgd", vec![]),
            Rule::Sgd { momentum, nesterov } => (
                "momentum",
                vec![f(momentum), f(f64::from(u8::from(nesterov)))],
            ),
            Rule::Adam {
                beta_1,
                beta_2,
                epsilon,
                weight_decay,
            } => {
                // The bias correction as the host computes it, in float32, goes in a buffer of
                // its own, so that the kernel's `info` stays the same from step to step.
                let t = step.item_f64()? as f32;
                let (b1, b2) = (beta_1 as f32, beta_2 as f32);
                let sq = (1.0 - b2.powf(t)).sqrt();
                let den = 1.0 - b1.powf(t);
                bias = Some(bias_buffer([sq, den])?);
                let consts = [beta_1, beta_2, epsilon, weight_decay];
                let mut v: Vec<i32> = consts.iter().map(|&x| f(x)).collect();
                v.extend([f(1.0 - beta_1), f(1.0 - beta_2)]);
                ("adam", v)
            }
            Rule::RmsProp { rho, epsilon } => ("rmsprop", vec![f(rho), f(epsilon), f(1.0 - rho)]),
            Rule::Adagrad { epsilon } => ("adagrad", vec![f(epsilon)]),
        };
        let lr = lr.cast(DType::F32)?.to_device(Device::Gpu)?;
        // Dense from the start of their buffers, as the kernel reads them.
        let dense = |t: &Tensor| t.to_device(Device::Gpu)?.contiguous();
        let w = dense(&value)?;
        let g = dense(grad)?;
        let olds: Vec<Tensor> = slots
            .iter()
            .map(|s| dense(&s.peek()))
            .collect::<Result<_>>()?;
        let mut info = vec![n as i32, lr.layout().offset as i32];
        info.extend(consts);
        let outs: Vec<GpuBuffer> = (0..=slots.len())
            .map(|_| GpuBuffer::new(DType::F32, n, "ApplyGradients"))
            .collect::<Result<_>>()?;
        fn buf(t: &Tensor) -> Result<&wgpu::Buffer> {
            buffer_of(t)
                .map(|b| b.raw())
                .ok_or_else(|| crate::Error::Internal("ApplyGradients: a host tensor".into()))
        }
        let mut raw = vec![buf(&lr)?, buf(&w)?, buf(&g)?, outs[0].raw()];
        for (old, out) in olds.iter().zip(&outs[1..]) {
            raw.extend([buf(old)?, out.raw()]);
        }
        if let Some(b) = &bias {
            raw.push(buf(b)?);
        }
        if n > 0 {
            let pipeline = c.pipeline(&format!("optim|{entry}"), || {
                SHADER.replace(&format!("fn {entry}("), "fn main(")
            })?;
            c.dispatch(&pipeline, &info, &raw, (n as u32).div_ceil(256))?;
        }
        let shape = value.shape();
        let mut outs = outs.into_iter();
        if let Some(b) = outs.next() {
            var.load(gpu_tensor(b, shape))?;
        }
        for (s, b) in slots.iter().zip(outs) {
            s.load(gpu_tensor(b, shape))?;
        }
        Ok(())
    };
    Some(run())
}
