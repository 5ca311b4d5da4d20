//! The wgpu backend (cargo feature `gpu`): one lazily created device context with a pipeline
//! cache, a caching buffer pool and batched command submission.
//!
//! Tensors on the GPU hold float32, int32 or bool (one 32-bit word per element), or float16
//! where the adapter has `SHADER_F16` (two bytes per element), in one storage buffer; views
//! (transpose, slices, broadcasts) are layouts over it, as on the host. Kernels are recorded
//! and submitted in batches (see `record`); the host waits only when it needs values
//! ([`download`]). A buffer whose tensor is dropped goes back to the pool at once; only GPU
//! commands, which run in order, write it before the next submission.
//!
//! Adapters: the best hardware adapter is chosen (discrete, integrated, virtual, other);
//! software adapters (lavapipe, llvmpipe, WARP) are used only with
//! `RSTF_ALLOW_SOFTWARE_GPU=1`, and are then never the default device. No adapter, or a failed
//! device request, means CPU only. Validation errors, out-of-memory and a lost device become
//! [`Error::Internal`] / [`Error::ResourceExhausted`]; nothing aborts.

mod drivers;
pub(crate) mod elementwise;
pub(crate) mod gather;
pub(crate) mod kernels;
pub(crate) mod matmul;
pub(crate) mod optim;
pub(crate) mod random;
mod record;
pub(crate) mod reduce;
pub(crate) mod window;

use crate::dtype::DType;
use crate::layout::Layout;
use crate::storage::Storage;
use crate::tensor::Tensor;
use crate::{Error, Result};
pub use record::bind_groups;
use record::Pending;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

pub(crate) use kernels::run_op;

/// The device context.
pub(crate) struct Context {
    device: wgpu::Device,
    queue: wgpu::Queue,
    name: String,
    software: bool,
    f16: bool,
    max_binding: u64,
    /// Bytes the buffer pool keeps at most: [`POOL_BYTES`], or room for two tensors of the
    /// largest size where that is more (a repeated op on such tensors then reuses its
    /// results' buffers). Allocations that fail empty the pool and try again.
    pool_bytes: u64,
    pipelines: Mutex<HashMap<String, Arc<wgpu::ComputePipeline>>>,
    pool: Mutex<Pool>,
    pending: Mutex<Pending>,
    error: Arc<Mutex<Option<String>>>,
    lost: Arc<Mutex<Option<String>>>,
}

/// Bytes the buffer pool keeps at least (see `Context::pool_bytes`).
const POOL_BYTES: u64 = 2 << 30;

/// Free buffers. Reuse follows release order (last released, first reused), whatever the
/// submissions in between, so a repeated step gets the same buffers each time and finds its
/// bind groups kept (see `record`).
#[derive(Default)]
struct Pool {
    /// Free buffers by size, each with the count of submissions made before its release.
    free: HashMap<u64, Vec<(wgpu::Buffer, u64)>>,
    bytes: u64,
    /// Submissions made so far.
    submitted: u64,
}

static CONTEXT: OnceLock<Option<Context>> = OnceLock::new();
static DISABLED: AtomicBool = AtomicBool::new(false);
/// Bytes read back from GPU buffers so far.
static BYTES_READ: AtomicU64 = AtomicU64::new(0);
/// GPU buffers created so far.
static BUFFERS: AtomicU64 = AtomicU64::new(0);
/// Kernels dispatched so far.
static DISPATCHES: AtomicU64 = AtomicU64::new(0);

/// Bytes read back from the GPU so far (what crossed to the host: values the host asked for,
/// and the inputs of ops that ran on the host).
pub fn bytes_read() -> u64 {
    BYTES_READ.load(Ordering::Relaxed)
}

/// Kernels dispatched so far (a count for tests of fusion: how many kernels an op or a step
/// takes).
pub fn dispatches() -> u64 {
    DISPATCHES.load(Ordering::Relaxed)
}

/// GPU buffers created so far (a count for tests that repeated ops reuse pooled buffers).
pub fn buffers_created() -> u64 {
    BUFFERS.load(Ordering::Relaxed)
}

/// Keeps the GPU off for this process (when called before the first use), as does the
/// environment variable `RSTF_DISABLE_GPU=1`.
pub fn disable() {
    DISABLED.store(true, Ordering::Relaxed);
}

fn software_allowed() -> bool {
    std::env::var("RSTF_ALLOW_SOFTWARE_GPU").is_ok_and(|v| v == "1")
}

fn rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

fn init() -> Option<Context> {
    if DISABLED.load(Ordering::Relaxed) || std::env::var("RSTF_DISABLE_GPU").is_ok_and(|v| v == "1")
    {
        return None;
    }
    if software_allowed() {
        drivers::bind_software_drivers_now();
    }
    // Mesa's device-selection layer asks the window system for the default GPU and prints
    // errors (`XDG_RUNTIME_DIR is invalid`) on machines without one. Compute needs no
    // display and adapters are ranked below, so the layer is off while the loader starts
    // (unless the user set NODEVICE_SELECT), and the environment is left as it was.
    let quiet = std::env::var_os("NODEVICE_SELECT").is_none();
    if quiet {
        std::env::set_var("NODEVICE_SELECT", "1");
    }
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    let mut adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY));
    if quiet {
        std::env::remove_var("NODEVICE_SELECT");
    }
    adapters.retain(|a| a.get_info().device_type != wgpu::DeviceType::Cpu || software_allowed());
    adapters.sort_by_key(|a| rank(a.get_info().device_type));
    let adapter = adapters.into_iter().next()?;
    let info = adapter.get_info();
    let alimits = adapter.limits();
    let limits = wgpu::Limits {
        max_storage_buffer_binding_size: alimits.max_storage_buffer_binding_size,
        max_buffer_size: alimits.max_buffer_size,
        max_compute_workgroup_storage_size: alimits.max_compute_workgroup_storage_size,
        max_storage_buffers_per_shader_stage: alimits.max_storage_buffers_per_shader_stage,
        ..wgpu::Limits::downlevel_defaults()
    };
    let f16 = adapter.features().contains(wgpu::Features::SHADER_F16);
    let desc = wgpu::DeviceDescriptor {
        label: Some("rstf"),
        required_features: if f16 {
            wgpu::Features::SHADER_F16
        } else {
            wgpu::Features::empty()
        },
        required_limits: limits,
        experimental_features: wgpu::ExperimentalFeatures::default(),
        memory_hints: wgpu::MemoryHints::Performance,
        trace: wgpu::Trace::Off,
    };
    let (device, queue) = pollster::block_on(adapter.request_device(&desc)).ok()?;
    let error = Arc::new(Mutex::new(None));
    let e2 = error.clone();
    device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
        let mut g = e2.lock().unwrap_or_else(|p| p.into_inner());
        if g.is_none() {
            *g = Some(e.to_string());
        }
    }));
    let lost = Arc::new(Mutex::new(None));
    let l2 = lost.clone();
    device.set_device_lost_callback(move |reason, msg| {
        *l2.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("{reason:?}: {msg}"));
    });
    let max_binding = alimits
        .max_storage_buffer_binding_size
        .min(alimits.max_buffer_size);
    Some(Context {
        device,
        queue,
        name: info.name,
        software: info.device_type == wgpu::DeviceType::Cpu,
        f16,
        max_binding,
        pool_bytes: POOL_BYTES.max(2 * max_binding),
        pipelines: Mutex::default(),
        pool: Mutex::default(),
        pending: Mutex::default(),
        error,
        lost,
    })
}

/// The context, created on first use; `None` when there is no usable adapter.
pub(crate) fn ctx() -> Option<&'static Context> {
    CONTEXT
        .get_or_init(|| {
            // A driver that panics inside wgpu must not take the process down.
            std::panic::catch_unwind(init).unwrap_or(None)
        })
        .as_ref()
}

fn context() -> Result<&'static Context> {
    let c = ctx().ok_or_else(|| Error::Internal("no GPU device is available".into()))?;
    if let Some(why) = c.lost.lock().unwrap_or_else(|p| p.into_inner()).clone() {
        return Err(Error::Internal(format!("the GPU device was lost ({why})")));
    }
    Ok(c)
}

/// True when a GPU can be used.
pub fn available() -> bool {
    ctx().is_some()
}

/// True when a hardware GPU is in use (the default device then).
pub fn hardware_available() -> bool {
    ctx().is_some_and(|c| !c.software)
}

/// True when the GPU holds float16 tensors (the adapter has 16-bit floats in shaders).
pub fn has_f16() -> bool {
    ctx().is_some_and(|c| c.f16)
}

/// Bytes one element of `dtype` takes in a GPU buffer (bool takes a 32-bit word).
pub fn elem_bytes(dtype: DType) -> u64 {
    if dtype == DType::F16 {
        2
    } else {
        4
    }
}

/// The words of the error of a GPU buffer (or kernel) too large for one storage binding.
pub(crate) const TOO_LARGE: &str = "larger than the adapter's largest storage binding";

/// True when `e` says a GPU buffer or kernel would be too large for one storage binding: the
/// op then runs on the CPU (see `kernels::run_op`).
pub(crate) fn too_large(e: &Error) -> bool {
    matches!(e, Error::TooLarge(_))
}

/// True when a tensor of `bytes` bytes fits one GPU storage binding. Larger tensors stay in
/// host memory, and the ops that read or make them run on the CPU.
pub fn fits(bytes: u64) -> bool {
    ctx().is_some_and(|c| bytes.max(4).div_ceil(256) * 256 <= c.max_binding)
}

/// True once the GPU has been looked for (the drivers are loaded then, if any).
pub fn probed() -> bool {
    CONTEXT.get().is_some()
}

/// The adapter's name, when a GPU is available.
pub fn device_name() -> Option<String> {
    ctx().map(|c| c.name.clone())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Context {
    /// Takes the first error the device reported, as an rstf error.
    fn check(&self, what: &str) -> Result<()> {
        if let Some(why) = lock(&self.lost).clone() {
            return Err(Error::Internal(format!(
                "{what}: the GPU device was lost ({why})"
            )));
        }
        match lock(&self.error).take() {
            Some(e) if e.to_lowercase().contains("out of memory") => Err(Error::ResourceExhausted(
                format!("{what}: out of GPU memory ({e})"),
            )),
            Some(e) => Err(Error::Internal(format!("{what}: GPU error: {e}"))),
            None => Ok(()),
        }
    }

    /// A storage buffer of at least `bytes` bytes, from the pool when one is free. A buffer
    /// that only GPU commands write (`gpu_written`) may be any free one, even one whose last
    /// use is not submitted yet: commands run in order, so its earlier uses are done before it
    /// is written. A buffer written from the host (`queue.write_buffer`, which runs before every
    /// command of the next submission) must be one released before the last submission.
    fn buffer(&self, bytes: u64, op: &str, gpu_written: bool) -> Result<wgpu::Buffer> {
        let size = bytes.max(4).div_ceil(256) * 256;
        if size > self.max_binding {
            return Err(Error::TooLarge(format!(
                "{op}: a GPU tensor of {bytes} bytes is {TOO_LARGE} ({} bytes)",
                self.max_binding
            )));
        }
        {
            let mut p = lock(&self.pool);
            let submitted = p.submitted;
            if let Some(free) = p.free.get_mut(&size) {
                let i = if gpu_written {
                    free.len().checked_sub(1)
                } else {
                    free.iter().rposition(|&(_, at)| at < submitted)
                };
                if let Some(i) = i {
                    let (b, _) = free.remove(i);
                    p.bytes -= size;
                    return Ok(b);
                }
            }
        }
        // A device out of memory may have room once the pool lets go of its free buffers.
        let b = match self.create_buffer(size) {
            Err(_) if self.empty_pool() => self.create_buffer(size),
            r => r,
        };
        b.map_err(|e| {
            Error::ResourceExhausted(format!(
                "{op}: OOM when allocating a GPU buffer of {bytes} bytes ({e})"
            ))
        })
    }

    fn create_buffer(&self, size: u64) -> std::result::Result<wgpu::Buffer, wgpu::Error> {
        BUFFERS.fetch_add(1, Ordering::Relaxed);
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let b = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        match pollster::block_on(scope.pop()) {
            Some(e) => Err(e),
            None => Ok(b),
        }
    }

    /// Lets go of every free buffer of the pool; false when it held none. Kept bind groups
    /// that hold one let go of it too, unless this thread is recording a dispatch (the
    /// recorder's lock is taken): their buffers then stay alive.
    fn empty_pool(&self) -> bool {
        let freed: Vec<wgpu::Buffer> = {
            let mut p = lock(&self.pool);
            p.bytes = 0;
            p.free
                .drain()
                .flat_map(|(_, v)| v)
                .map(|(b, _)| b)
                .collect()
        };
        let pending = match self.pending.try_lock() {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(g)) => Some(g.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        };
        if let Some(mut p) = pending {
            for b in &freed {
                self.forget(&mut p, b.clone());
            }
        }
        !freed.is_empty()
    }

    fn release(&self, b: wgpu::Buffer) {
        let dropped = self.pool_put(b);
        if !dropped.is_empty() {
            let mut p = lock(&self.pending);
            for b in dropped {
                self.forget(&mut p, b);
            }
        }
    }

    /// Puts `b` in the pool, making room by letting go of the buffers released longest ago;
    /// gives back the buffers let go (`b` itself when it is larger than the pool).
    fn pool_put(&self, b: wgpu::Buffer) -> Vec<wgpu::Buffer> {
        let mut p = lock(&self.pool);
        let size = b.size();
        if size > self.pool_bytes {
            return vec![b];
        }
        let mut dropped = Vec::new();
        while p.bytes + size > self.pool_bytes {
            let oldest = p
                .free
                .iter()
                .filter_map(|(&s, v)| v.first().map(|&(_, at)| (at, s)))
                .min();
            let Some((_, s)) = oldest else { break };
            let v = p.free.get_mut(&s).expect("the size class was just found");
            let (old, _) = v.remove(0);
            if v.is_empty() {
                p.free.remove(&s);
            }
            p.bytes -= s;
            dropped.push(old);
        }
        p.bytes += size;
        let at = p.submitted;
        p.free.entry(size).or_default().push((b, at));
        dropped
    }

    /// The pipeline named `key`, compiled once from the WGSL source `make` returns (entry
    /// point `main`).
    pub(crate) fn pipeline(
        &self,
        key: &str,
        make: impl FnOnce() -> String,
    ) -> Result<Arc<wgpu::ComputePipeline>> {
        self.build_pipeline(key, make, false)
    }

    /// [`Self::pipeline`] for a kernel whose every index has been shown to stay inside its
    /// arrays, whose storage reads are guarded by the kernel itself and whose divisors are
    /// never zero (the matrix products): compiled without the index clamps and division
    /// guards that runtime checks add to its inner loops, unless `RSTF_GPU_SHADER_CHECKS=1`
    /// asks for them everywhere.
    pub(crate) fn pipeline_in_bounds(
        &self,
        key: &str,
        make: impl FnOnce() -> String,
    ) -> Result<Arc<wgpu::ComputePipeline>> {
        static CHECKED: OnceLock<bool> = OnceLock::new();
        let checked = *CHECKED
            .get_or_init(|| std::env::var("RSTF_GPU_SHADER_CHECKS").is_ok_and(|v| v == "1"));
        self.build_pipeline(key, make, !checked)
    }

    fn build_pipeline(
        &self,
        key: &str,
        make: impl FnOnce() -> String,
        in_bounds: bool,
    ) -> Result<Arc<wgpu::ComputePipeline>> {
        if let Some(p) = lock(&self.pipelines).get(key) {
            return Ok(p.clone());
        }
        let mut src = make();
        if src.contains("array<f16>") {
            src.insert_str(0, "enable f16;\n");
        }
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        // Bounds and division checks stay on (but see `pipeline_in_bounds`); the loop-bounding
        // guard is left out: it keeps
        // drivers from unrolling loops (the matrix product ran 10-20x slower with it), and every
        // loop in rstf's shaders ends by its counter (the atomic add's retry loop ends once no
        // other thread wrote in between).
        let checks = wgpu::ShaderRuntimeChecks {
            force_loop_bounding: false,
            bounds_checks: !in_bounds,
            int_div_checks: !in_bounds,
            ..wgpu::ShaderRuntimeChecks::checked()
        };
        let desc = wgpu::ShaderModuleDescriptor {
            label: None,
            source: wgpu::ShaderSource::Wgsl(src.as_str().into()),
        };
        // SAFETY: loop bounding is off (see above), and bounds checks only for kernels that
        // stay inside their arrays (see `pipeline_in_bounds`).
        let module = unsafe { self.device.create_shader_module_trusted(desc, checks) };
        let p = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: None,
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Internal(format!(
                "GPU kernel failed to compile: {e}"
            )));
        }
        let p = Arc::new(p);
        lock(&self.pipelines).insert(key.to_string(), p.clone());
        Ok(p)
    }
}

/// Splits a workgroup count into a grid whose x stays within the 65535 limit.
pub(crate) fn grid(groups: u32) -> (u32, u32) {
    if groups <= 65535 {
        (groups.max(1), 1)
    } else {
        (65535, groups.div_ceil(65535))
    }
}

/// A GPU buffer holding `len` elements of `dtype` ([`elem_bytes`] each).
#[derive(Clone)]
pub struct GpuBuffer(Arc<BufInner>);

struct BufInner {
    buf: Option<wgpu::Buffer>,
    dtype: DType,
    len: usize,
}

impl Drop for BufInner {
    fn drop(&mut self) {
        if let (Some(b), Some(c)) = (self.buf.take(), ctx()) {
            c.release(b);
        }
    }
}

impl GpuBuffer {
    /// A new buffer of `len` elements of `dtype` (contents undefined) for GPU commands to write.
    pub(crate) fn new(dtype: DType, len: usize, op: &str) -> Result<GpuBuffer> {
        Self::make(dtype, len, op, true)
    }

    fn make(dtype: DType, len: usize, op: &str, gpu_written: bool) -> Result<GpuBuffer> {
        let c = context()?;
        let b = c.buffer(len as u64 * elem_bytes(dtype), op, gpu_written)?;
        Ok(GpuBuffer(Arc::new(BufInner {
            buf: Some(b),
            dtype,
            len,
        })))
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.0.dtype
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.0.len
    }

    /// True when no element is held.
    pub fn is_empty(&self) -> bool {
        self.0.len == 0
    }

    pub(crate) fn raw(&self) -> &wgpu::Buffer {
        self.0.buf.as_ref().expect("a live buffer")
    }
}

impl std::fmt::Debug for GpuBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GpuBuffer({} x {})", self.0.len, self.0.dtype)
    }
}

impl PartialEq for GpuBuffer {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// The GPU buffer behind a tensor, if it is on the GPU.
pub(crate) fn buffer_of(t: &Tensor) -> Option<&GpuBuffer> {
    match &**t.storage() {
        Storage::Gpu(b) => Some(b),
        _ => None,
    }
}

/// A dense GPU tensor of `shape` over a new buffer.
pub(crate) fn gpu_tensor(b: GpuBuffer, shape: &[usize]) -> Tensor {
    Tensor::from_storage(Storage::Gpu(b), shape)
}

/// GPU copies of host scalars (Python numbers in `x * 2.0`, graph constants) by dtype, shape
/// and value: no kernel writes a buffer after the one that made it, so one copy serves every
/// use, and ops on such scalars need no upload. A value is kept from its second upload on:
/// values that change at every step (a learning rate with its bias correction) are not kept,
/// so their buffers go back to the pool.
static SCALARS: Mutex<Option<Scalars>> = Mutex::new(None);
/// A scalar's dtype, shape and value bytes.
type ScalarKey = (DType, Vec<usize>, Vec<u8>);
/// Scalars kept (and values seen once) at most; each set is emptied when full.
const SCALARS_KEPT: usize = 1024;

#[derive(Default)]
struct Scalars {
    kept: HashMap<ScalarKey, Tensor>,
    seen: std::collections::HashSet<ScalarKey>,
}

/// Copies a host tensor (float32, int32, bool, or float16 where the GPU has it) to a dense GPU
/// tensor (a new one, or for one element, one kept from an earlier copy of the same value).
pub fn upload(t: &Tensor) -> Result<Tensor> {
    if t.numel() != 1 {
        return upload_new(t);
    }
    let key = (t.dtype(), t.shape().to_vec(), element_bytes(t)?);
    let mut cache = lock(&SCALARS);
    let m = cache.get_or_insert_with(Scalars::default);
    // Each copy handed out is a tensor of its own (tapes tell tensors apart by identity);
    // only the buffer, which no kernel writes in place, is shared.
    let fresh = |g: &Tensor| {
        let mut r = g.clone();
        r.renew_id();
        r
    };
    if let Some(g) = m.kept.get(&key) {
        return Ok(fresh(g));
    }
    let g = upload_new(t)?;
    if m.seen.remove(&key) {
        if m.kept.len() >= SCALARS_KEPT {
            m.kept.clear();
        }
        m.kept.insert(key, fresh(&g));
    } else {
        if m.seen.len() >= SCALARS_KEPT {
            m.seen.clear();
        }
        m.seen.insert(key);
    }
    Ok(g)
}

/// The bytes of the GPU words of host tensor `t`'s values.
fn element_bytes(t: &Tensor) -> Result<Vec<u8>> {
    Ok(match t.dtype() {
        DType::F32 => bytemuck::cast_slice(&t.to_vec::<f32>()?).to_vec(),
        DType::I32 => bytemuck::cast_slice(&t.to_vec::<i32>()?).to_vec(),
        DType::Bool => {
            let words: Vec<u32> = t.to_vec::<bool>()?.iter().map(|&v| v as u32).collect();
            bytemuck::cast_slice(&words).to_vec()
        }
        DType::F16 if has_f16() => bytemuck::cast_slice(&t.to_vec::<half::f16>()?).to_vec(),
        d => {
            return Err(Error::InvalidArgument(format!(
                "_Send: tensors of dtype {d} cannot be placed on the GPU"
            )))
        }
    })
}

fn upload_new(t: &Tensor) -> Result<Tensor> {
    let c = context()?;
    let mut bytes = element_bytes(t)?;
    let b = GpuBuffer::make(t.dtype(), t.numel(), "_Send", false)?;
    if !bytes.is_empty() {
        // Writes are whole 32-bit words; the buffer has room for the padding.
        bytes.resize(bytes.len().div_ceil(4) * 4, 0);
        c.queue.write_buffer(b.raw(), 0, &bytes);
    }
    Ok(gpu_tensor(b, t.shape()))
}

/// Copies a GPU tensor seen through `layout` to a new dense host tensor.
pub fn download(b: &GpuBuffer, layout: &Layout) -> Result<Tensor> {
    let c = context()?;
    let shape = layout.shape.clone();
    let n = layout.numel();
    let size = elem_bytes(b.dtype());
    let dense = Tensor::from_parts(Arc::new(Storage::Gpu(b.clone())), layout.clone())?;
    // Copies out of a buffer start on a 32-bit word: other views are made dense first.
    let (src, start) = if layout.is_contiguous() && (layout.offset as u64 * size).is_multiple_of(4)
    {
        (b.clone(), layout.offset)
    } else {
        let d = elementwise::copy(&dense)?;
        (buffer_of(&d).expect("on the GPU").clone(), 0)
    };
    let bytes = n as u64 * size;
    let raw = read_bytes(c, src.raw(), start as u64 * size, bytes.div_ceil(4) * 4)?;
    let raw = &raw[..bytes as usize];
    let storage = match b.dtype() {
        DType::F32 => Storage::F32(bytemuck::pod_collect_to_vec(raw)),
        DType::I32 => Storage::I32(bytemuck::pod_collect_to_vec(raw)),
        DType::F16 => Storage::F16(bytemuck::pod_collect_to_vec(raw)),
        _ => Storage::Bool(
            bytemuck::pod_collect_to_vec::<u8, u32>(raw)
                .iter()
                .map(|&w| w != 0)
                .collect(),
        ),
    };
    Ok(Tensor::from_storage(storage, &shape))
}

fn read_bytes(c: &Context, src: &wgpu::Buffer, offset: u64, bytes: u64) -> Result<Vec<u8>> {
    if bytes == 0 {
        return Ok(Vec::new());
    }
    BYTES_READ.fetch_add(bytes, Ordering::Relaxed);
    let staging = c.device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    {
        let mut p = lock(&c.pending);
        c.encoder(&mut p)
            .copy_buffer_to_buffer(src, offset, &staging, 0, bytes);
        c.submit(&mut p);
    }
    let done = Arc::new(Mutex::new(None));
    let d2 = done.clone();
    staging.map_async(wgpu::MapMode::Read, .., move |r| {
        *lock(&d2) = Some(r.is_ok());
    });
    if let Err(e) = c.device.poll(wgpu::PollType::wait_indefinitely()) {
        c.check("_Recv")?;
        return Err(Error::Internal(format!(
            "_Recv: waiting for the GPU failed: {e}"
        )));
    }
    c.check("_Recv")?;
    if *lock(&done) != Some(true) {
        return Err(Error::Internal(
            "_Recv: reading a GPU buffer back failed".into(),
        ));
    }
    let view = staging
        .get_mapped_range(..)
        .map_err(|e| Error::Internal(format!("_Recv: {e}")))?;
    let out = view.to_vec();
    drop(view);
    staging.unmap();
    Ok(out)
}
