//! Elementwise fusion: a run of float unary/binary nodes over one shape (branches included,
//! inputs of that shape or broadcast to it) becomes one [`Fused`] node that makes a single
//! pass over memory, block by block (each block stays in the L1 cache), in parallel, or one
//! GPU kernel. Each element goes through the same arithmetic as the eager kernels, so results
//! are bit-identical.

use super::{AssignMode, Graph, Node, NodeKind, Op};
use crate::backend::cpu::num::Float;
use crate::dtype::DType;
use crate::ops::unary::{unary_float_match, unary_table};
use crate::ops::{BinaryOp, UnaryOp};
use crate::{Result, Tensor};
use rayon::prelude::*;

/// An operand of a fused instruction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arg {
    /// The fused node's input number `i` (dense of the node's shape, or one element).
    In(usize),
    /// The result of instruction `i`.
    Tmp(usize),
}

/// A fused chain: instructions over inputs and earlier results; the last one is the output.
#[derive(Clone, Debug, PartialEq)]
pub struct Fused {
    /// `(op, operands)` in order.
    pub code: Vec<(Op, Vec<Arg>)>,
}

const BLOCK: usize = 1024;

fn fusable(op: &Op) -> bool {
    match op {
        Op::Unary(u) => !matches!(u, UnaryOp::LogicalNot | UnaryOp::Sign),
        Op::Binary(b) => matches!(
            b,
            BinaryOp::Add
                | BinaryOp::Sub
                | BinaryOp::Mul
                | BinaryOp::Div
                | BinaryOp::Pow
                | BinaryOp::Maximum
                | BinaryOp::Minimum
        ),
        _ => false,
    }
}

/// True when `from` broadcasts to `to` without growing `to`.
fn broadcasts_to(from: &[usize], to: &[usize]) -> bool {
    from.iter().product::<usize>() == 1
        || from.len() <= to.len()
            && from
                .iter()
                .rev()
                .zip(to.iter().rev())
                .all(|(&f, &t)| f == t || f == 1)
}

impl Graph {
    /// Replaces runs of two or more fusable nodes (float32/float64, one output shape, inputs
    /// of that shape or broadcast to it, every intermediate used only inside the run) with one
    /// fused node.
    pub(crate) fn fuse(&mut self) {
        // Constants have no inputs: move them first so they do not split runs.
        let (consts, rest): (Vec<Node>, Vec<Node>) = std::mem::take(&mut self.nodes)
            .into_iter()
            .partition(|n| matches!(n.kind, NodeKind::Const(_)));
        let mut uses = vec![0usize; self.specs.len()];
        for n in &rest {
            for &s in &n.inputs {
                uses[s] += 1;
            }
        }
        for &s in &self.outputs {
            uses[s] += 1;
        }
        let mut out = consts;
        // Open runs, one per (dtype, shape). A node joins the run of its kind; a node that
        // reads a run's result from outside it (another kind, or not fusable) closes that run
        // first. Other nodes go out as they come while runs stay open: the fused node comes
        // later, and reads only values made before it.
        let mut runs: Vec<Vec<Node>> = Vec::new();
        for n in rest {
            // An update of a variable by a run's result joins the run as `read +/- value`,
            // then sets the variable: one pass (one GPU kernel) instead of two.
            if let NodeKind::Assign(v, mode @ (AssignMode::Add | AssignMode::Sub)) = n.kind {
                let value = n.inputs[0];
                let holder = runs
                    .iter()
                    .position(|r| r.iter().any(|x| x.outputs[0] == value));
                if let Some(i) = holder.filter(|_| uses[value] == 1) {
                    let mut run = runs.remove(i);
                    let spec = self.specs[value].clone();
                    let (read, sum) = (self.specs.len(), self.specs.len() + 1);
                    self.specs.extend([spec.clone(), spec]);
                    uses.extend([1, 1]);
                    out.push(Node {
                        kind: NodeKind::ReadVariable(v),
                        inputs: vec![],
                        outputs: vec![read],
                    });
                    let op = match mode {
                        AssignMode::Add => BinaryOp::Add,
                        _ => BinaryOp::Sub,
                    };
                    run.push(Node {
                        kind: NodeKind::Op(Op::Binary(op)),
                        inputs: vec![read, value],
                        outputs: vec![sum],
                    });
                    self.flush(&mut run, &mut out, &uses);
                    out.push(Node {
                        kind: NodeKind::Assign(v, AssignMode::Set),
                        inputs: vec![sum],
                        outputs: vec![],
                    });
                    continue;
                }
            }
            let kind = match &n.kind {
                NodeKind::Op(op) if fusable(op) && n.outputs.len() == 1 => {
                    let (dt, shape) = &self.specs[n.outputs[0]];
                    let inputs_fit = n.inputs.iter().all(|&s| {
                        let (idt, ishape) = &self.specs[s];
                        idt == dt && broadcasts_to(ishape, shape)
                    });
                    (matches!(dt, DType::F32 | DType::F64) && inputs_fit)
                        .then_some(&self.specs[n.outputs[0]])
                }
                _ => None,
            };
            let of_kind = |r: &Vec<Node>| kind.is_some_and(|k| &self.specs[r[0].outputs[0]] == k);
            let reads = |r: &Vec<Node>| r.iter().any(|x| n.inputs.contains(&x.outputs[0]));
            let (close, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut runs)
                .into_iter()
                .partition(|r| reads(r) && !of_kind(r));
            runs = keep;
            for mut r in close {
                self.flush(&mut r, &mut out, &uses);
            }
            if kind.is_none() {
                out.push(n);
            } else if let Some(r) = runs.iter_mut().find(|r| of_kind(r)) {
                r.push(n);
            } else {
                runs.push(vec![n]);
            }
        }
        for mut r in runs {
            self.flush(&mut r, &mut out, &uses);
        }
        self.nodes = out;
    }

    fn flush(&self, run: &mut Vec<Node>, out: &mut Vec<Node>, uses: &[usize]) {
        // Only the last result may be read outside the run: split after any other that is.
        let inside = |run: &[Node], s: usize| {
            run.iter()
                .map(|r| r.inputs.iter().filter(|&&i| i == s).count())
                .sum::<usize>()
        };
        if let Some(p) = (0..run.len().saturating_sub(1))
            .find(|&p| inside(run, run[p].outputs[0]) != uses[run[p].outputs[0]])
        {
            let mut tail = run.split_off(p + 1);
            self.flush(run, out, uses);
            self.flush(&mut tail, out, uses);
            return;
        }
        if run.len() < 2 {
            out.append(run);
            return;
        }
        let mut inputs: Vec<usize> = Vec::new();
        let mut code = Vec::with_capacity(run.len());
        for (k, n) in run.iter().enumerate() {
            let NodeKind::Op(op) = &n.kind else {
                unreachable!("runs hold op nodes")
            };
            let args = n
                .inputs
                .iter()
                .map(|&s| match run[..k].iter().position(|r| r.outputs[0] == s) {
                    Some(j) => Arg::Tmp(j),
                    None => Arg::In(match inputs.iter().position(|&i| i == s) {
                        Some(i) => i,
                        None => {
                            inputs.push(s);
                            inputs.len() - 1
                        }
                    }),
                })
                .collect();
            code.push((op.clone(), args));
        }
        let output = run.last().map(|r| r.outputs[0]).unwrap_or_default();
        out.push(Node {
            kind: NodeKind::Fused(Fused { code }),
            inputs,
            outputs: vec![output],
        });
        run.clear();
    }
}

impl Fused {
    /// Runs the chain. Under a recording tape or a trace, or on inputs not shaped as traced, it
    /// runs op by op (recorded, broadcasting as eager does).
    pub fn eval(&self, inputs: &[Tensor]) -> Result<Tensor> {
        let shape_of = |i: usize| inputs[i].shape().to_vec();
        let dt = inputs.first().map(|t| t.dtype());
        let n = inputs.iter().map(|t| t.numel()).max().unwrap_or(0);
        let dense = inputs
            .iter()
            .all(|t| Some(t.dtype()) == dt && (t.numel() == n || t.numel() == 1));
        // The output's shape: the one full-size shape, which every one-element input must
        // not outrank (else the slow path broadcasts).
        let widest = (0..inputs.len())
            .filter(|&i| inputs[i].numel() == n)
            .max_by_key(|&i| inputs[i].rank());
        let same = widest.is_some_and(|w| {
            inputs.iter().all(|t| {
                if t.numel() == n && n != 1 {
                    t.shape() == inputs[w].shape()
                } else {
                    t.rank() <= inputs[w].rank()
                }
            })
        });
        // Under a tape, or inside another trace (a traced function calling this one), the
        // chain runs op by op so that it is recorded.
        let recorded = crate::autodiff::must_record();
        let fast = !recorded && dense && same && inputs.iter().all(|t| t.is_contiguous());
        #[cfg(feature = "gpu")]
        if !recorded && dt == Some(DType::F32) {
            let refs: Vec<&Tensor> = inputs.iter().collect();
            if crate::device::op_device(&refs) == crate::Device::Gpu {
                if let Some(r) = crate::backend::wgpu::kernels::fused(&self.code, &refs) {
                    return r;
                }
                // No GPU kernel for the chain (or it is too large for the GPU): it runs on
                // the CPU and its result goes where the op's device says.
                let host: Vec<Tensor> =
                    inputs.iter().map(|t| t.to_host()).collect::<Result<_>>()?;
                let cpu =
                    crate::device::with_device(Some(crate::Device::Cpu), || self.eval(&host))?;
                return cpu.to_device(crate::Device::Gpu);
            }
        }
        if !fast && !recorded {
            // Inputs broadcast to the output's shape are expanded once; the blocks then run.
            let shape = inputs.iter().try_fold(Vec::new(), |s, t| {
                crate::layout::broadcast_shapes(&s, t.shape(), "")
            });
            if let Ok(shape) = shape {
                let grows = |t: &Tensor| t.numel() != 1 && t.shape() != shape.as_slice();
                if inputs.iter().any(grows) {
                    let wide: Vec<Tensor> = inputs
                        .iter()
                        .map(|t| match grows(t) {
                            true => t.broadcast_to(&shape)?.contiguous(),
                            false => Ok(t.clone()),
                        })
                        .collect::<Result<_>>()?;
                    return self.eval(&wide);
                }
            }
        }
        if fast {
            let shape = widest.map(shape_of).unwrap_or_default();
            let r = match dt {
                Some(DType::F32) => Some(self.run_blocks::<f32>(inputs, n, &shape)),
                Some(DType::F64) => Some(self.run_blocks::<f64>(inputs, n, &shape)),
                _ => None,
            };
            if let Some(r) = r {
                return r;
            }
        }
        let mut tmps: Vec<Tensor> = Vec::with_capacity(self.code.len());
        for (op, args) in &self.code {
            let ins: Vec<Tensor> = args
                .iter()
                .map(|a| match a {
                    Arg::In(i) => inputs[*i].clone(),
                    Arg::Tmp(j) => tmps[*j].clone(),
                })
                .collect();
            let mut r = op.eval(&ins)?;
            tmps.push(r.remove(0));
        }
        tmps.pop()
            .ok_or_else(|| crate::Error::Internal("fused: empty chain".into()))
    }

    /// [`Fused::eval`] on inputs the caller gives up: when one of them is a dense host tensor
    /// of the output's dtype and shape that nothing else holds, the result is written into its
    /// buffer (each block of it is read before the block is overwritten).
    pub fn eval_owned(&self, mut inputs: Vec<Tensor>) -> Result<Tensor> {
        // The output's shape: the largest input's, when every other input has it or is a
        // rank-0 scalar.
        let Some(w) = (0..inputs.len()).max_by_key(|&i| inputs[i].numel()) else {
            return self.eval(&inputs);
        };
        let shape = inputs[w].shape().to_vec();
        let ok = inputs[w].numel() >= BLOCK
            && !crate::autodiff::must_record()
            && inputs.iter().all(|t| {
                t.dtype() == inputs[w].dtype()
                    && t.is_contiguous()
                    && t.device() == crate::Device::Cpu
                    && (t.shape() == shape.as_slice() || (t.numel() == 1 && t.rank() == 0))
            });
        let reuse = if ok {
            (0..inputs.len()).find(|&i| {
                inputs[i].shape() == shape.as_slice()
                    && matches!(inputs[i].dtype(), DType::F32 | DType::F64)
                    && match inputs[i].dtype() {
                        DType::F32 => inputs[i].unique_dense_mut::<f32>().is_some(),
                        _ => inputs[i].unique_dense_mut::<f64>().is_some(),
                    }
            })
        } else {
            None
        };
        let Some(i) = reuse else {
            return self.eval(&inputs);
        };
        let mut target = std::mem::replace(&mut inputs[i], Tensor::scalar(0f32));
        match target.dtype() {
            DType::F32 => self.run_in_place::<f32>(&inputs, i, &mut target)?,
            _ => self.run_in_place::<f64>(&inputs, i, &mut target)?,
        }
        target.renew_id();
        Ok(target)
    }

    fn run_in_place<T: Float>(
        &self,
        inputs: &[Tensor],
        alias: usize,
        target: &mut Tensor,
    ) -> Result<()> {
        let srcs: Vec<&[T]> = inputs
            .iter()
            .enumerate()
            .map(|(j, t)| {
                if j == alias {
                    &[][..]
                } else {
                    t.as_slice::<T>().unwrap_or(&[])
                }
            })
            .collect();
        let out = target
            .unique_dense_mut::<T>()
            .ok_or_else(|| crate::Error::Internal("fused: the reused buffer is shared".into()))?;
        let n = out.len();
        let k = self.code.len();
        let body = |(b, o): (usize, &mut [T]), s: &mut (Vec<Vec<T>>, Vec<T>)| {
            let (scratch, copy) = s;
            copy[..o.len()].copy_from_slice(o);
            // SAFETY: the block only ever receives initialised values.
            let o = unsafe { &mut *(o as *mut [T] as *mut [std::mem::MaybeUninit<T>]) };
            let blk = Block {
                code: &self.code,
                srcs: &srcs,
                start: b * BLOCK,
                alias: Some((alias, &copy[..])),
            };
            run_block(&blk, o, scratch);
        };
        let init = || (vec![vec![T::zero(); BLOCK]; k], vec![T::zero(); BLOCK]);
        if n >= crate::backend::cpu::strided::PAR_MIN {
            out.par_chunks_mut(BLOCK)
                .enumerate()
                .for_each_init(init, |s, x| body(x, s));
        } else {
            let mut s = init();
            out.chunks_mut(BLOCK)
                .enumerate()
                .for_each(|x| body(x, &mut s));
        }
        Ok(())
    }

    fn run_blocks<T: Float>(&self, inputs: &[Tensor], n: usize, shape: &[usize]) -> Result<Tensor> {
        let srcs: Vec<&[T]> = inputs
            .iter()
            .map(|t| t.as_slice::<T>().unwrap_or(&[]))
            .collect();
        let v = crate::backend::cpu::strided::build(n, |out| {
            let body = |(b, o): (usize, &mut [std::mem::MaybeUninit<T>]),
                        scratch: &mut Vec<Vec<T>>| {
                let blk = Block {
                    code: &self.code,
                    srcs: &srcs,
                    start: b * BLOCK,
                    alias: None,
                };
                run_block(&blk, o, scratch)
            };
            let k = self.code.len();
            if n >= crate::backend::cpu::strided::PAR_MIN {
                out.par_chunks_mut(BLOCK)
                    .enumerate()
                    .for_each_init(|| vec![vec![T::zero(); BLOCK]; k], |s, x| body(x, s));
            } else {
                let mut s = vec![vec![T::zero(); BLOCK]; k];
                out.chunks_mut(BLOCK)
                    .enumerate()
                    .for_each(|x| body(x, &mut s));
            }
        })?;
        Tensor::from_vec(v, shape)
    }
}

/// What every block of one run of a chain reads.
struct Block<'a, T> {
    code: &'a [(Op, Vec<Arg>)],
    srcs: &'a [&'a [T]],
    /// Index of the first element of the block.
    start: usize,
    /// An input read from this copy of the block (its buffer is the output).
    alias: Option<(usize, &'a [T])>,
}

/// Runs the chain over one block of at most [`BLOCK`] elements, through an AVX2 build of the
/// loops when the CPU has it (no FMA contraction, so the arithmetic, and the results, stay
/// those of the eager kernels).
fn run_block<T: Float>(
    b: &Block<'_, T>,
    o: &mut [std::mem::MaybeUninit<T>],
    scratch: &mut [Vec<T>],
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            #[target_feature(enable = "avx2")]
            unsafe fn fast<T: Float>(
                b: &Block<'_, T>,
                o: &mut [std::mem::MaybeUninit<T>],
                scratch: &mut [Vec<T>],
            ) {
                block_body(b, o, scratch)
            }
            // SAFETY: the CPU supports AVX2.
            return unsafe { fast(b, o, scratch) };
        }
    }
    block_body(b, o, scratch)
}

#[inline(always)]
fn block_body<T: Float>(
    b: &Block<'_, T>,
    o: &mut [std::mem::MaybeUninit<T>],
    scratch: &mut [Vec<T>],
) {
    let Block {
        code,
        srcs,
        start,
        alias,
    } = *b;
    let len = o.len();
    for (k, (op, args)) in code.iter().enumerate() {
        let (done, rest) = scratch.split_at_mut(k);
        let dst = &mut rest[0][..len];
        let pick = |a: &Arg| -> Operand<'_, T> {
            match *a {
                Arg::In(i) if alias.is_some_and(|(j, _)| j == i) => {
                    Operand::Slice(&alias.map_or(&[][..], |(_, c)| c)[..len])
                }
                Arg::In(i) if srcs[i].len() == 1 => Operand::Scalar(srcs[i][0]),
                Arg::In(i) => Operand::Slice(&srcs[i][start..start + len]),
                Arg::Tmp(j) => Operand::Slice(&done[j][..len]),
            }
        };
        match op {
            Op::Unary(u) => unary_block(*u, pick(&args[0]), dst),
            Op::Binary(bop) => binary_block(*bop, pick(&args[0]), pick(&args[1]), dst),
            _ => {}
        }
    }
    let last = &scratch[code.len() - 1][..len];
    for (d, &s) in o.iter_mut().zip(last) {
        d.write(s);
    }
}

enum Operand<'a, T> {
    Slice(&'a [T]),
    Scalar(T),
}

/// `exp` or `sigmoid` of a block through the eager kernels' own functions (for float32 the
/// vectorised slice kernels, whose last bits the scalar functions do not match).
fn exp_block<T: Float>(op: UnaryOp, x: Operand<'_, T>, d: &mut [T]) {
    use crate::backend::cpu::simd;
    use std::mem::MaybeUninit;
    let sigmoid = op == UnaryOp::Sigmoid;
    if T::DTYPE == DType::F32 {
        let kernel = if sigmoid {
            simd::sigmoid_slice
        } else {
            simd::exp_slice
        };
        // SAFETY: T is f32 (checked above); MaybeUninit<f32> has f32's layout.
        let out = unsafe { &mut *(d as *mut [T] as *mut [MaybeUninit<f32>]) };
        match x {
            Operand::Slice(s) => kernel(unsafe { &*(s as *const [T] as *const [f32]) }, out),
            Operand::Scalar(v) => {
                let v = unsafe { *(&v as *const T as *const f32) };
                let mut one = [MaybeUninit::uninit()];
                kernel(&[v], &mut one);
                // SAFETY: the kernel wrote the value.
                let r = unsafe { one[0].assume_init() };
                out.iter_mut().for_each(|o| {
                    o.write(r);
                });
            }
        }
        return;
    }
    let f = |v: T| {
        if sigmoid {
            T::one().div(T::one().add(v.neg().exp()))
        } else {
            v.exp()
        }
    };
    match x {
        Operand::Slice(s) => d.iter_mut().zip(s).for_each(|(o, &v)| *o = f(v)),
        Operand::Scalar(v) => d.fill(f(v)),
    }
}

#[inline(always)]
fn unary_block<T: Float>(op: UnaryOp, x: Operand<'_, T>, d: &mut [T]) {
    macro_rules! go {
        ($f:expr) => {{
            let f = $f;
            match x {
                Operand::Slice(s) => {
                    for (o, &v) in d.iter_mut().zip(s) {
                        *o = f(v);
                    }
                }
                Operand::Scalar(v) => d.fill(f(v)),
            }
        }};
    }
    match op {
        // Vectorised like the eager kernels, so fused results are bit-identical.
        UnaryOp::Exp | UnaryOp::Sigmoid => exp_block(op, x, d),
        // Not fused (see `fusible`).
        UnaryOp::Sign => {}
        _ => unary_table!(unary_float_match!(op, T, go, {})),
    }
}

#[inline(always)]
fn binary_block<T: Float>(op: BinaryOp, a: Operand<'_, T>, b: Operand<'_, T>, d: &mut [T]) {
    macro_rules! go {
        ($f:expr) => {{
            let f = $f;
            match (a, b) {
                (Operand::Slice(x), Operand::Slice(y)) => {
                    for ((o, &p), &q) in d.iter_mut().zip(x).zip(y) {
                        *o = f(p, q);
                    }
                }
                (Operand::Slice(x), Operand::Scalar(q)) => {
                    for (o, &p) in d.iter_mut().zip(x) {
                        *o = f(p, q);
                    }
                }
                (Operand::Scalar(p), Operand::Slice(y)) => {
                    for (o, &q) in d.iter_mut().zip(y) {
                        *o = f(p, q);
                    }
                }
                (Operand::Scalar(p), Operand::Scalar(q)) => d.fill(f(p, q)),
            }
        }};
    }
    match op {
        BinaryOp::Add => go!(|x: T, y: T| x.add(y)),
        BinaryOp::Sub => go!(|x: T, y: T| x.sub(y)),
        BinaryOp::Mul => go!(|x: T, y: T| x.mul(y)),
        BinaryOp::Div => go!(|x: T, y: T| x.div(y)),
        BinaryOp::Pow => go!(|x: T, y: T| x.pow(y)),
        BinaryOp::Maximum => go!(|x: T, y: T| x.maximum(y)),
        BinaryOp::Minimum => go!(|x: T, y: T| x.minimum(y)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> Fused {
        // sqrt(x * 2 + 1)
        Fused {
            code: vec![
                (Op::Binary(BinaryOp::Mul), vec![Arg::In(0), Arg::In(1)]),
                (Op::Binary(BinaryOp::Add), vec![Arg::Tmp(0), Arg::In(2)]),
                (Op::Unary(UnaryOp::Sqrt), vec![Arg::Tmp(1)]),
            ],
        }
    }

    #[test]
    fn a_dead_input_buffer_is_reused_and_a_shared_one_is_not() {
        let n = 3 * BLOCK + 5;
        let vals: Vec<f32> = (0..n).map(|i| i as f32 * 0.25).collect();
        let want: Vec<f32> = vals.iter().map(|v| (v * 2.0 + 1.0).sqrt()).collect();
        let scalars = || [Tensor::scalar(2f32), Tensor::scalar(1f32)];
        let [two, one] = scalars();
        let x = Tensor::from_vec(vals.clone(), &[n]).unwrap();
        let ptr = x.as_slice::<f32>().unwrap().as_ptr();
        let y = chain().eval_owned(vec![x, two, one]).unwrap();
        assert_eq!(
            y.as_slice::<f32>().unwrap().as_ptr(),
            ptr,
            "written in place"
        );
        assert_eq!(y.to_vec::<f32>().unwrap(), want);

        let x = Tensor::from_vec(vals.clone(), &[n]).unwrap();
        let [two, one] = scalars();
        let y = chain().eval_owned(vec![x.clone(), two, one]).unwrap();
        assert_ne!(
            y.as_slice::<f32>().unwrap().as_ptr(),
            x.as_slice::<f32>().unwrap().as_ptr()
        );
        assert_eq!(y.to_vec::<f32>().unwrap(), want);
        assert_eq!(
            x.to_vec::<f32>().unwrap(),
            vals,
            "a shared input is never written"
        );
    }
}
