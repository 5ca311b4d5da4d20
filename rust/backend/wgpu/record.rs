//! Recording and submission of GPU commands, built to keep the host's cost per kernel small.
//!
//! - Every dispatch of a submission goes into one compute pass of one command encoder (each
//!   pass costs the driver command buffers and barriers of its own); the encoder is submitted
//!   every [`BATCH`] dispatches, or when the host needs values.
//! - A kernel's `info` array (sizes, strides, offsets) is written once into an append-only
//!   arena of 64 KiB buffers and found again by its contents: a step that repeats its kernels
//!   writes nothing. New arrays are staged on the host and written with one host write per
//!   submission.
//! - Bind groups are kept by (pipeline, `info` place, buffers), so a repeated kernel on the
//!   same buffers (the buffer pool hands the same buffers to a repeated step) creates none.
//!   A kept bind group keeps its buffers alive, so a buffer the pool lets go is first taken out
//!   of every kept group.
//!
//! The arena and the kept bind groups are emptied when they outgrow their bounds.

use super::{lock, Context, DISPATCHES};
use crate::Result;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Dispatches recorded before the pending encoder is submitted.
const BATCH: usize = 64;
/// Bytes of one buffer of the `info` arena.
const CHUNK_BYTES: u64 = 64 << 10;
/// Buffers the `info` arena grows to before it is emptied.
const CHUNKS: usize = 16;
/// Bind groups kept at most.
const BINDS: usize = 4096;

/// Bind groups created so far.
static BIND_GROUPS: AtomicU64 = AtomicU64::new(0);

/// Bind groups created so far (a count for tests that repeated kernels reuse theirs).
pub fn bind_groups() -> u64 {
    BIND_GROUPS.load(Ordering::Relaxed)
}

/// Commands recorded and not yet submitted, with what they need until then.
#[derive(Default)]
pub(super) struct Pending {
    /// The open compute pass of `encoder`; declared first, so that it ends before the encoder
    /// is dropped.
    pass: Option<wgpu::ComputePass<'static>>,
    encoder: Option<wgpu::CommandEncoder>,
    dispatches: usize,
    infos: Infos,
    binds: HashMap<BindKey, wgpu::BindGroup>,
}

/// The append-only arena of `info` arrays.
#[derive(Default)]
struct Infos {
    chunks: Vec<wgpu::Buffer>,
    /// Bytes used of the last chunk.
    used: u64,
    /// Bytes of the last chunk from `staged_at` on, not yet written to it.
    staged: Vec<u8>,
    staged_at: u64,
    /// Where each array is: chunk and byte offset.
    at: HashMap<Vec<i32>, (usize, u64)>,
}

/// What a bind group binds: the pipeline (its layout), the `info` place, the buffers.
#[derive(Hash, PartialEq, Eq)]
struct BindKey {
    pipeline: wgpu::ComputePipeline,
    info: (usize, u64, u64),
    buffers: Vec<wgpu::Buffer>,
}

impl Context {
    /// Ends the open pass, so that the encoder can record other commands (a copy).
    pub(super) fn encoder<'a>(&self, p: &'a mut Pending) -> &'a mut wgpu::CommandEncoder {
        p.pass = None;
        p.encoder.get_or_insert_with(|| {
            self.device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None })
        })
    }

    /// Submits the recorded commands, after writing the staged `info` arrays.
    pub(super) fn submit(&self, p: &mut Pending) {
        self.flush_infos(&mut p.infos);
        p.pass = None;
        if let Some(enc) = p.encoder.take() {
            self.queue.submit([enc.finish()]);
        }
        p.dispatches = 0;
        lock(&self.pool).submitted += 1;
    }

    /// Drops `b` (a buffer the pool did not keep), and the kept bind groups that hold it.
    pub(super) fn forget(&self, p: &mut Pending, b: wgpu::Buffer) {
        p.binds.retain(|k, _| !k.buffers.contains(&b));
    }

    /// Returns `b` to the pool, or drops it when the pool is full.
    fn put_back(&self, p: &mut Pending, b: wgpu::Buffer) {
        for b in self.pool_put(b) {
            self.forget(p, b);
        }
    }

    fn flush_infos(&self, infos: &mut Infos) {
        if let (false, Some(chunk)) = (infos.staged.is_empty(), infos.chunks.last()) {
            self.queue
                .write_buffer(chunk, infos.staged_at, &infos.staged);
        }
        infos.staged.clear();
        infos.staged_at = infos.used;
    }

    /// The place (chunk, offset, bytes) of `info` in the arena, added when new.
    fn info_place(&self, p: &mut Pending, info: &[i32]) -> Result<(usize, u64, u64)> {
        let len = (std::mem::size_of_val(info) as u64).max(4);
        if let Some(&(chunk, at)) = p.infos.at.get(info) {
            return Ok((chunk, at, len));
        }
        let align = u64::from(self.device.limits().min_storage_buffer_offset_alignment);
        let mut at = p.infos.used.div_ceil(align) * align;
        if p.infos.chunks.is_empty() || at + len > CHUNK_BYTES {
            self.flush_infos(&mut p.infos);
            if p.infos.chunks.len() == CHUNKS {
                // Full: start over. The chunks are free once their recorded uses are
                // submitted (the pool sees to that).
                p.binds.clear();
                p.infos.at.clear();
                for b in std::mem::take(&mut p.infos.chunks) {
                    self.put_back(p, b);
                }
            }
            let chunk = self.buffer(CHUNK_BYTES, "dispatch", false)?;
            p.infos.chunks.push(chunk);
            p.infos.used = 0;
            p.infos.staged_at = 0;
            at = 0;
        }
        let words = if info.is_empty() { &[0][..] } else { info };
        p.infos.staged.resize((at - p.infos.staged_at) as usize, 0);
        p.infos
            .staged
            .extend_from_slice(bytemuck::cast_slice(words));
        p.infos.used = at + len;
        let chunk = p.infos.chunks.len() - 1;
        p.infos.at.insert(info.to_vec(), (chunk, at));
        Ok((chunk, at, len))
    }

    /// Records one dispatch of `pipeline` over `groups` workgroups with binding 0 = `info`
    /// (as a read-only i32 array) and bindings 1.. = `buffers`.
    pub(crate) fn dispatch(
        &self,
        pipeline: &wgpu::ComputePipeline,
        info: &[i32],
        buffers: &[&wgpu::Buffer],
        groups: u32,
    ) -> Result<()> {
        let (x, y) = super::grid(groups);
        self.dispatch_grid(pipeline, info, buffers, x, y)
    }

    /// Records one dispatch over an `x` by `y` grid of workgroups (see [`Context::dispatch`]).
    pub(crate) fn dispatch_grid(
        &self,
        pipeline: &wgpu::ComputePipeline,
        info: &[i32],
        buffers: &[&wgpu::Buffer],
        x: u32,
        y: u32,
    ) -> Result<()> {
        let mut p = lock(&self.pending);
        let bind = if std::mem::size_of_val(info) as u64 <= CHUNK_BYTES {
            let place = self.info_place(&mut p, info)?;
            let key = BindKey {
                pipeline: pipeline.clone(),
                info: place,
                buffers: buffers.iter().map(|&b| b.clone()).collect(),
            };
            match p.binds.get(&key) {
                Some(g) => g.clone(),
                None => {
                    let binding = wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &p.infos.chunks[place.0],
                        offset: place.1,
                        size: wgpu::BufferSize::new(place.2),
                    });
                    let g = self.bind_group(pipeline, binding, buffers);
                    if p.binds.len() >= BINDS {
                        p.binds.clear();
                    }
                    p.binds.insert(key, g.clone());
                    g
                }
            }
        } else {
            // An `info` larger than a chunk gets a buffer of its own.
            let b = self.buffer(std::mem::size_of_val(info) as u64, "dispatch", false)?;
            self.queue.write_buffer(&b, 0, bytemuck::cast_slice(info));
            let g = self.bind_group(pipeline, b.as_entire_binding(), buffers);
            self.put_back(&mut p, b);
            g
        };
        if p.pass.is_none() {
            let pass = self
                .encoder(&mut p)
                .begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: None,
                    timestamp_writes: None,
                });
            p.pass = Some(pass.forget_lifetime());
        }
        let pass = p.pass.as_mut().expect("the pass was just begun");
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups(x, y, 1);
        p.dispatches += 1;
        DISPATCHES.fetch_add(1, Ordering::Relaxed);
        if p.dispatches >= BATCH {
            self.submit(&mut p);
        }
        Ok(())
    }

    fn bind_group(
        &self,
        pipeline: &wgpu::ComputePipeline,
        info: wgpu::BindingResource,
        buffers: &[&wgpu::Buffer],
    ) -> wgpu::BindGroup {
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: info,
        }];
        for (i, b) in buffers.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: b.as_entire_binding(),
            });
        }
        BIND_GROUPS.fetch_add(1, Ordering::Relaxed);
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        })
    }
}
