//! Sliding windows over images (NHWC): [`Tensor::im2col`] gathers every window into a row of
//! patches and [`Tensor::col2im`] adds patches back into an image; each is the other's
//! gradient. Convolution is `im2col` followed by one matmul with the filter, and pooling is a
//! reduction over the patches, so their gradients come from these two primitives, matmul and
//! the reductions.
//!
//! ```
//! use rstf::{ops::conv::Window, Tensor};
//! // A 1x3x3x1 image, 2x2 windows with stride 1, VALID padding: four windows of four values.
//! let x = Tensor::from_vec((1..=9).map(|v| v as f32).collect(), &[1, 3, 3, 1]).unwrap();
//! let w = Window::new([2, 2], [1, 1], [1, 1], false).unwrap();
//! let p = x.im2col(&w, 0.0).unwrap();
//! assert_eq!(p.shape(), &[1, 2, 2, 4]);
//! assert_eq!(p.to_vec::<f32>().unwrap()[..4], [1.0, 2.0, 4.0, 5.0]);
//! ```

use crate::autodiff::{op1, rule};
use crate::dtype::{DType, Element};
use crate::graph::Op;
use crate::layout::checked_numel;
use crate::storage::try_alloc;
use crate::{bail, Result, Tensor};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A window over the two spatial dimensions: size, strides, dilations and padding. Read from
/// a file it is checked as [`Window::new`] checks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawWindow")]
pub struct Window {
    /// Window height and width.
    pub size: [usize; 2],
    /// Steps between windows.
    pub strides: [usize; 2],
    /// Steps between the window's taps.
    pub dilations: [usize; 2],
    /// `SAME` padding (output size `ceil(in / stride)`) rather than `VALID` (no padding).
    pub same: bool,
}

/// A window as stored, before its checks.
#[derive(Deserialize)]
struct RawWindow {
    size: [usize; 2],
    strides: [usize; 2],
    dilations: [usize; 2],
    same: bool,
}

impl TryFrom<RawWindow> for Window {
    type Error = crate::Error;

    fn try_from(w: RawWindow) -> Result<Window> {
        Window::new(w.size, w.strides, w.dilations, w.same)
    }
}

/// Output size and padding before, along one dimension.
fn out_dim(n: usize, k: usize, s: usize, d: usize, same: bool) -> (usize, usize) {
    let span = (k - 1) * d + 1;
    if same {
        let out = n.div_ceil(s);
        let total = ((out.max(1) - 1) * s + span).saturating_sub(n);
        (out, total / 2)
    } else if n >= span {
        ((n - span) / s + 1, 0)
    } else {
        (0, 0)
    }
}

impl Window {
    /// A window; sizes, strides and dilations must be positive.
    pub fn new(
        size: [usize; 2],
        strides: [usize; 2],
        dilations: [usize; 2],
        same: bool,
    ) -> Result<Window> {
        if size.contains(&0) || strides.contains(&0) || dilations.contains(&0) {
            bail!(
                "window: sizes {size:?}, strides {strides:?} and dilations {dilations:?} must be positive"
            );
        }
        Ok(Window {
            size,
            strides,
            dilations,
            same,
        })
    }

    /// `(out_h, out_w, pad_top, pad_left)` for an `h x w` image.
    pub fn output(&self, h: usize, w: usize) -> (usize, usize, usize, usize) {
        let (oh, pt) = out_dim(
            h,
            self.size[0],
            self.strides[0],
            self.dilations[0],
            self.same,
        );
        let (ow, pl) = out_dim(
            w,
            self.size[1],
            self.strides[1],
            self.dilations[1],
            self.same,
        );
        (oh, ow, pt, pl)
    }

    pub(crate) fn check(&self, op: &str, shape: &[usize]) -> Result<[usize; 4]> {
        if shape.len() != 4 {
            bail!("{op}: expected an image batch of rank 4 (NHWC), got shape {shape:?}");
        }
        // A window larger than the image with VALID padding gives an empty output, as in
        // TensorFlow.
        Ok([shape[0], shape[1], shape[2], shape[3]])
    }

    /// For each output position and tap: the input offset `(y, x)`, or None in the padding.
    fn taps(&self, h: usize, w: usize) -> Vec<Option<(usize, usize)>> {
        let (oh, ow, pt, pl) = self.output(h, w);
        let [kh, kw] = self.size;
        let mut v = Vec::with_capacity(oh * ow * kh * kw);
        for oy in 0..oh {
            for ox in 0..ow {
                for ky in 0..kh {
                    for kx in 0..kw {
                        let y =
                            (oy * self.strides[0] + ky * self.dilations[0]) as isize - pt as isize;
                        let x =
                            (ox * self.strides[1] + kx * self.dilations[1]) as isize - pl as isize;
                        v.push(
                            if y >= 0 && x >= 0 && (y as usize) < h && (x as usize) < w {
                                Some((y as usize, x as usize))
                            } else {
                                None
                            },
                        );
                    }
                }
            }
        }
        v
    }
}

impl Tensor {
    /// The windows of an `[N, H, W, C]` image batch as patches `[N, OH, OW, KH * KW * C]`
    /// (taps in row-major order, channels innermost); taps in the padding read `pad_value`.
    pub fn im2col(&self, window: &Window, pad_value: f64) -> Result<Tensor> {
        let shape = self.shape().to_vec();
        let w = *window;
        op1(
            || Op::Im2Col {
                window: w,
                pad_value,
            },
            &[self],
            || self.im2col_raw(&w, pad_value),
            |_| rule(move |g, _| Ok(vec![Some(Tensor::col2im(&g[0], &shape, &w)?)])),
        )
    }

    fn im2col_raw(&self, w: &Window, pad_value: f64) -> Result<Tensor> {
        let [n, h, wd, c] = w.check("Im2Col", self.shape())?;
        let x = self.contiguous()?;
        crate::with_dtype!(x.dtype(), T => {
            let src = x.as_slice::<T>().unwrap_or(&[]);
            let taps = w.taps(h, wd);
            let (oh, ow, _, _) = w.output(h, wd);
            let k = w.size[0] * w.size[1];
            let row = k * c;
            let total = checked_numel(&[n, oh, ow, row], "Im2Col")?;
            let mut out = try_alloc::<T>(total, "Im2Col")?;
            out.resize(total, T::of_f64(pad_value));
            let image = h * wd * c;
            out.par_chunks_mut((oh * ow * row).max(1))
                .enumerate()
                .for_each(|(b, dst)| {
                    let img = &src[b * image..(b + 1) * image];
                    for (t, tap) in taps.iter().enumerate() {
                        if let Some((y, xx)) = tap {
                            let s = (y * wd + xx) * c;
                            dst[t * c..(t + 1) * c].copy_from_slice(&img[s..s + c]);
                        }
                    }
                });
            Tensor::from_vec(out, &[n, oh, ow, row])
        })
    }

    /// Adds patches `[N, OH, OW, KH * KW * C]` back into an image of `shape` `[N, H, W, C]`
    /// (the gradient of [`Tensor::im2col`]).
    pub fn col2im(patches: &Tensor, shape: &[usize], window: &Window) -> Result<Tensor> {
        let w = *window;
        op1(
            || Op::Col2Im {
                window: w,
                shape: shape.to_vec(),
            },
            &[patches],
            || Tensor::col2im_raw(patches, shape, &w),
            |_| rule(move |g, _| Ok(vec![Some(g[0].im2col(&w, 0.0)?)])),
        )
    }

    fn col2im_raw(patches: &Tensor, shape: &[usize], w: &Window) -> Result<Tensor> {
        let [n, h, wd, c] = w.check("Col2Im", shape)?;
        let (oh, ow, _, _) = w.output(h, wd);
        let row = w.size[0] * w.size[1] * c;
        if patches.shape() != [n, oh, ow, row] {
            bail!(
                "Col2Im: patches of shape {:?} do not fit an image of shape {shape:?} (expected {:?})",
                patches.shape(),
                [n, oh, ow, row]
            );
        }
        let p = patches.contiguous()?;
        match p.dtype() {
            DType::F32 => col2im_kernel::<f32>(&p, n, h, wd, c, w),
            DType::F64 => col2im_kernel::<f64>(&p, n, h, wd, c, w),
            DType::F16 | DType::BF16 => {
                let r = col2im_kernel::<f32>(&p.cast(DType::F32)?, n, h, wd, c, w)?;
                r.cast(p.dtype())
            }
            d => Err(crate::Error::Unimplemented(format!(
                "Col2Im: no kernel for dtype {d} (floats only)"
            ))),
        }
    }
}

fn col2im_kernel<T: Element + std::ops::AddAssign>(
    p: &Tensor,
    n: usize,
    h: usize,
    wd: usize,
    c: usize,
    w: &Window,
) -> Result<Tensor> {
    let src = p.as_slice::<T>().unwrap_or(&[]);
    let taps = w.taps(h, wd);
    let (oh, ow, _, _) = w.output(h, wd);
    let row = w.size[0] * w.size[1] * c;
    let image = h * wd * c;
    let total = checked_numel(&[n, h, wd, c], "Col2Im")?;
    let mut out = try_alloc::<T>(total, "Col2Im")?;
    out.resize(total, T::zero());
    out.par_chunks_mut(image.max(1))
        .enumerate()
        .for_each(|(b, img)| {
            let pat = &src[b * oh * ow * row..(b + 1) * oh * ow * row];
            for (t, tap) in taps.iter().enumerate() {
                if let Some((y, x)) = tap {
                    let d = (y * wd + x) * c;
                    for (o, &v) in img[d..d + c].iter_mut().zip(&pat[t * c..(t + 1) * c]) {
                        *o += v;
                    }
                }
            }
        });
    Tensor::from_vec(out, &[n, h, wd, c])
}

impl Tensor {
    /// 2-D convolution (TensorFlow's `conv2d`): an `[N, H, W, C]` image batch and a
    /// `[KH, KW, C, O]` filter give `[N, OH, OW, O]`. The window's size must be the filter's.
    pub fn conv2d(&self, filter: &Tensor, window: &Window) -> Result<Tensor> {
        let fs = filter.shape();
        if fs.len() != 4 || self.rank() != 4 || fs[2] != self.shape()[3] {
            bail!(
                "Conv2D: input of shape {:?} (NHWC) and filter of shape {fs:?} (HWIO) do not match",
                self.shape()
            );
        }
        if [fs[0], fs[1]] != window.size {
            bail!(
                "Conv2D: the window {:?} is not the filter's size {:?}",
                window.size,
                &fs[..2]
            );
        }
        if self.dtype() != filter.dtype() {
            bail!(
                "Conv2D: input dtype {} and filter dtype {} differ",
                self.dtype(),
                filter.dtype()
            );
        }
        let p = self.im2col(window, 0.0)?;
        let [n, oh, ow, row] = [p.shape()[0], p.shape()[1], p.shape()[2], p.shape()[3]];
        let f = filter.reshape(&[row as i64, fs[3] as i64])?;
        p.reshape(&[(n * oh * ow) as i64, row as i64])?
            .matmul(&f, false, false)?
            .reshape(&[n as i64, oh as i64, ow as i64, fs[3] as i64])
    }

    /// Max or average pooling over windows of an `[N, H, W, C]` batch. Averages count only the
    /// taps inside the image (as TensorFlow's `SAME` padding does).
    pub fn pool2d(&self, window: &Window, max: bool) -> Result<Tensor> {
        let shape = self.shape().to_vec();
        window.check(if max { "MaxPool" } else { "AvgPool" }, &shape)?;
        let c = shape[3] as i64;
        let taps = (window.size[0] * window.size[1]) as i64;
        let fill = if max { f64::NEG_INFINITY } else { 0.0 };
        let p = self.im2col(window, fill)?;
        let [n, oh, ow] = [p.shape()[0], p.shape()[1], p.shape()[2]].map(|d| d as i64);
        let p = p.reshape(&[n, oh, ow, taps, c])?;
        if max {
            return p.max_pool_patches();
        }
        let sum = p.reduce(crate::ops::ReduceOp::Sum, Some(&[3]), false)?;
        // Taps inside the image for each output position (a constant).
        let count = crate::autodiff::paused(|| {
            let one = Tensor::scalar(1.0f64).cast(self.dtype())?;
            Tensor::fill(&[1, shape[1], shape[2], 1], &one)?
                .im2col(window, 0.0)?
                .reduce(crate::ops::ReduceOp::Sum, Some(&[3]), true)
        })?;
        sum.div(&count)
    }
}

impl Tensor {
    /// The maximum over axis 3 (the window's taps) of `[N, OH, OW, taps, C]` patches, whose
    /// gradient goes to the first tap holding the maximum, as TensorFlow's MaxPool (a plain
    /// reduce_max splits it among ties).
    pub fn max_pool_patches(&self) -> Result<Tensor> {
        use crate::ops::{BinaryOp, ReduceOp};
        if self.rank() != 5 {
            bail!(
                "MaxPool: expected patches of rank 5 [N, OH, OW, taps, C], got shape {:?}",
                self.shape()
            );
        }
        let fwd = || self.reduce_raw(ReduceOp::Max, Some(&[3]), false);
        op1(
            || Op::MaxPoolPatches,
            &[self],
            fwd,
            |_| {
                let p = self.clone();
                rule(move |g, _| {
                    // Tap indices compared as int32 (a float16 count is inexact past 2048).
                    let taps = p.shape()[3] as i64;
                    let first = p.arg_reduce(3, true)?.cast(DType::I32)?.expand_dims(3)?;
                    let tap = Tensor::range(0.0, taps as f64, 1.0, DType::I32)?
                        .reshape(&[1, 1, 1, taps, 1])?;
                    let at_first = tap.binary(&first, BinaryOp::Equal)?;
                    let zero = crate::autodiff::scalar_like(&p, 0.0)?;
                    let gk = g[0].expand_dims(3)?.broadcast_to(p.shape())?;
                    Ok(vec![Some(Tensor::select(&at_first, &gk, &zero)?)])
                })
            },
        )
    }
}
