//! Named tensors in a safetensors file: an 8-byte little-endian header length, a JSON header
//! (`{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//! "__metadata__": {"key": "value"}}`), then the raw little-endian data.
//!
//! The reader validates the whole header before it allocates anything: known dtypes, sizes that
//! match the shapes, offsets that tile the data section exactly and end at the end of the file.
//! So every allocation is bounded by the file's size, and a truncated, corrupted or foreign file
//! gives [`Error::DataLoss`]. Data is read straight into the tensors' buffers.
//!
//! ```
//! use rstf::{saved::tensors, Tensor};
//! let dir = std::env::temp_dir().join(format!("rstf-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("w.safetensors");
//! let w = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3]).unwrap();
//! tensors::write(&path, &[("w".to_string(), w)], &Default::default()).unwrap();
//! let (read, _meta) = tensors::read(&path).unwrap();
//! assert_eq!(read[0].0, "w");
//! assert_eq!(read[0].1.to_vec::<f32>().unwrap(), vec![1.0, 2.0, 3.0]);
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```

use super::{atomic_write, data_loss, open};
use crate::dtype::{DType, Element};
use crate::storage::try_alloc;
use crate::{Result, Tensor, Variable};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

/// The metadata entry holding the CRC-32 of the data section (written always; required in
/// files whose `format` starts with `rstf.`).
pub const CRC_KEY: &str = "crc32";
const CRC_PLACEHOLDER: &str = "00000000";
/// The metadata entry holding the CRC-32 of the index: every tensor's name, dtype, shape and
/// offsets, and the other metadata (see [`index_crc`]). Checked when present, so a damaged
/// name or shape is caught like damaged data.
pub const INDEX_CRC_KEY: &str = "index.crc32";
/// Bytes hashed and moved at a time (fits in a core's L2 cache).
const CHUNK: usize = 256 << 10;
/// Bytes written by one parallel task.
const PIECE: usize = 4 << 20;

/// Largest header accepted (as the reference implementation).
const MAX_HEADER: u64 = 100 << 20;

fn code(d: DType) -> &'static str {
    match d {
        DType::F16 => "F16",
        DType::BF16 => "BF16",
        DType::F32 => "F32",
        DType::F64 => "F64",
        DType::I8 => "I8",
        DType::I32 => "I32",
        DType::I64 => "I64",
        DType::U8 => "U8",
        DType::Bool => "BOOL",
        DType::String => "STRING",
    }
}

fn of_code(s: &str) -> Option<DType> {
    DType::ALL.iter().copied().find(|&d| code(d) == s)
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Info {
    dtype: String,
    shape: Vec<u64>,
    data_offsets: [u64; 2],
}

/// Writes `tensors` (non-contiguous ones are packed first) and `metadata` to `path`, through a
/// temporary file renamed at the end: a crash never leaves a partial file at `path`.
pub fn write(
    path: &Path,
    tensors: &[(String, Tensor)],
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    let mut header = serde_json::Map::new();
    let mut packed = Vec::with_capacity(tensors.len());
    let mut offset = 0u64;
    for (name, t) in tensors {
        if name == "__metadata__" || header.contains_key(name) {
            return Err(crate::invalid!(
                "save: duplicate or reserved tensor name '{name}'"
            ));
        }
        let t = t.to_host()?.contiguous()?;
        let n = bytes_of(&t).len() as u64;
        let info = Info {
            dtype: code(t.dtype()).into(),
            shape: t.shape().iter().map(|&d| d as u64).collect(),
            data_offsets: [offset, offset + n],
        };
        header.insert(name.clone(), serde_json::to_value(info).unwrap());
        offset += n;
        packed.push(t);
    }
    // The checksum is computed while the data is written, then written over this placeholder.
    let mut metadata = metadata.clone();
    let mut entries: Vec<Entry> = Vec::with_capacity(tensors.len());
    let mut at = 0u64;
    let datas: Vec<Cow<'_, [u8]>> = packed.iter().map(bytes_of).collect();
    for ((name, _), (t, d)) in tensors.iter().zip(packed.iter().zip(&datas)) {
        let n = d.len() as u64;
        entries.push((name.clone(), t.dtype(), t.shape().to_vec(), at, at + n));
        at += n;
    }
    metadata.remove(CRC_KEY);
    metadata.remove(INDEX_CRC_KEY);
    let index = index_crc(&mut entries, &metadata);
    metadata.insert(INDEX_CRC_KEY.into(), format!("{index:08x}"));
    metadata.insert(CRC_KEY.into(), CRC_PLACEHOLDER.into());
    header.insert(
        "__metadata__".into(),
        serde_json::to_value(&metadata).unwrap(),
    );
    let mut text = serde_json::to_vec(&header).unwrap();
    // Pad with spaces so that the data starts 8-byte aligned.
    while !text.len().is_multiple_of(8) {
        text.push(b' ');
    }
    let needle = format!("\"{CRC_KEY}\":\"{CRC_PLACEHOLDER}\"");
    let at = text
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .map(|p| p + needle.len() - 1 - CRC_PLACEHOLDER.len())
        .ok_or_else(|| crate::Error::Internal("save: checksum placeholder not found".into()))?;
    atomic_write(path, |f| {
        f.write_all(&(text.len() as u64).to_le_bytes())?;
        f.write_all(&text)?;
        let crc = write_data(f, 8 + text.len() as u64, &datas)?;
        use std::io::{Seek, SeekFrom};
        f.seek(SeekFrom::Start(8 + at as u64))?;
        f.write_all(format!("{crc:08x}").as_bytes())
    })
}

/// Writes the tensors' bytes one after the other from `start`; returns their CRC-32. Pieces
/// of the data are hashed and written in parallel (positioned writes), each hashed just before
/// it is written so that it is still in the cache.
#[cfg(unix)]
fn write_data(f: &mut File, start: u64, datas: &[Cow<'_, [u8]>]) -> std::io::Result<u32> {
    use rayon::prelude::*;
    use std::os::unix::fs::FileExt;
    let mut pieces: Vec<(u64, &[u8])> = Vec::new();
    let mut at = start;
    for d in datas {
        for chunk in d.chunks(PIECE) {
            pieces.push((at, chunk));
            at += chunk.len() as u64;
        }
    }
    let file: &File = f;
    let hashes = pieces
        .par_iter()
        .map(|&(off, bytes)| {
            let mut h = crc32fast::Hasher::new();
            for (i, chunk) in bytes.chunks(CHUNK).enumerate() {
                h.update(chunk);
                file.write_all_at(chunk, off + (i * CHUNK) as u64)?;
            }
            Ok(h)
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    let mut all = crc32fast::Hasher::new();
    for h in &hashes {
        all.combine(h);
    }
    Ok(all.finalize())
}

#[cfg(not(unix))]
fn write_data(f: &mut File, _start: u64, datas: &[Cow<'_, [u8]>]) -> std::io::Result<u32> {
    let mut hasher = crc32fast::Hasher::new();
    for d in datas {
        for chunk in d.chunks(CHUNK) {
            hasher.update(chunk);
            f.write_all(chunk)?;
        }
    }
    Ok(hasher.finalize())
}

/// Reads `bytes` from `f`, hashing each chunk right after it arrives.
fn read_hashed(
    f: &mut File,
    bytes: &mut [u8],
    hasher: &mut crc32fast::Hasher,
) -> std::io::Result<()> {
    for chunk in bytes.chunks_mut(CHUNK) {
        f.read_exact(chunk)?;
        hasher.update(chunk);
    }
    Ok(())
}

/// The bytes of a contiguous host tensor's elements. A string tensor's `n` elements are
/// `n + 1` little-endian u64 offsets (the first 0) into the bytes that follow them.
pub(crate) fn bytes_of(t: &Tensor) -> Cow<'_, [u8]> {
    if let Some(pool) = t.storage().strings() {
        let v = &pool[t.layout().offset..t.layout().offset + t.numel()];
        let total: usize = v.iter().map(|s| s.len()).sum();
        let mut out = Vec::with_capacity(8 * (v.len() + 1) + total);
        let mut at = 0u64;
        out.extend_from_slice(&at.to_le_bytes());
        for s in v {
            at += s.len() as u64;
            out.extend_from_slice(&at.to_le_bytes());
        }
        for s in v {
            out.extend_from_slice(s);
        }
        return Cow::Owned(out);
    }
    let size = t.dtype().size();
    let start = t.layout().offset * size;
    Cow::Borrowed(&t.storage().as_bytes()[start..start + t.numel() * size])
}

/// Reads the `n` strings of [`bytes_of`]'s layout back from `data`, checking its offsets.
fn strings_of(data: &[u8], n: usize, shape: &[usize], path: &Path) -> Result<Tensor> {
    let head = 8 * (n + 1);
    let offs: Vec<u64> = data[..head]
        .chunks(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
        .collect();
    let body = &data[head..];
    let ok = offs[0] == 0 && offs.windows(2).all(|w| w[0] <= w[1]) && offs[n] == body.len() as u64;
    if !ok {
        return Err(data_loss(
            path,
            "a string tensor's offsets do not partition its bytes",
        ));
    }
    let v = offs
        .windows(2)
        .map(|w| body[w[0] as usize..w[1] as usize].into())
        .collect();
    Tensor::from_strings(v, shape)
}

/// Named tensors and string metadata, as read from a file.
pub type Contents = (Vec<(String, Tensor)>, BTreeMap<String, String>);

/// What [`read_into`] did not put into variables, the metadata, and the names it did.
pub type Restored = (Vec<(String, Tensor)>, BTreeMap<String, String>, Vec<String>);

/// One tensor of a file: name, dtype, shape, data offsets.
type Entry = (String, DType, Vec<usize>, u64, u64);

/// The CRC-32 of a file's index: the entries (sorted here by offsets, then name) and the
/// metadata other than the two checksums, in one canonical text.
fn index_crc(entries: &mut [Entry], metadata: &BTreeMap<String, String>) -> u32 {
    entries.sort_by(|a, b| (a.3, a.4, &a.0).cmp(&(b.3, b.4, &b.0)));
    let mut h = crc32fast::Hasher::new();
    for (name, dtype, shape, b, e) in entries.iter() {
        h.update(format!("{name}\0{}\0{shape:?}\0{b}\0{e}\n", code(*dtype)).as_bytes());
    }
    for (k, v) in metadata {
        if k != CRC_KEY && k != INDEX_CRC_KEY {
            h.update(format!("{k}\0{v}\n").as_bytes());
        }
    }
    h.finalize()
}

/// Reads and validates the header; leaves `f` at the start of the data.
fn header(f: &mut File, path: &Path, len: u64) -> Result<(Vec<Entry>, BTreeMap<String, String>)> {
    let bad = |why: String| data_loss(path, &why);
    if len < 8 {
        return Err(bad(format!(
            "the file has {len} bytes, too short for a header"
        )));
    }
    let mut n8 = [0u8; 8];
    f.read_exact(&mut n8).map_err(|e| bad(e.to_string()))?;
    let n = u64::from_le_bytes(n8);
    if n > MAX_HEADER || n > len - 8 {
        return Err(bad(format!(
            "the header length {n} is larger than the file ({len} bytes) allows"
        )));
    }
    let mut text = vec![0u8; n as usize];
    f.read_exact(&mut text).map_err(|e| bad(e.to_string()))?;
    let header: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(&text).map_err(|e| bad(format!("bad header: {e}")))?;
    let mut metadata = BTreeMap::new();
    let mut entries: Vec<Entry> = Vec::new();
    for (name, v) in header {
        if name == "__metadata__" {
            metadata = serde_json::from_value(v).map_err(|e| bad(format!("bad metadata: {e}")))?;
            continue;
        }
        let info: Info =
            serde_json::from_value(v).map_err(|e| bad(format!("bad entry '{name}': {e}")))?;
        let dtype = of_code(&info.dtype)
            .ok_or_else(|| bad(format!("'{name}' has unsupported dtype '{}'", info.dtype)))?;
        let count = info.shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
        let [b, e] = info.data_offsets;
        let fits = match (count, e.checked_sub(b)) {
            // Strings: the offsets, then at least nothing.
            (Some(c), Some(n)) if dtype == DType::String => c
                .checked_add(1)
                .and_then(|c| c.checked_mul(8))
                .is_some_and(|h| h <= n),
            (Some(c), Some(n)) => c.checked_mul(dtype.size() as u64) == Some(n),
            _ => false,
        };
        if !fits {
            return Err(bad(format!(
                "'{name}': offsets [{b}, {e}] do not hold a {} tensor of shape {:?}",
                dtype, info.shape
            )));
        }
        let shape = info.shape.iter().map(|&d| d as usize).collect();
        entries.push((name, dtype, shape, b, e));
    }
    if let Some(want) = metadata.get(INDEX_CRC_KEY) {
        let got = format!("{:08x}", index_crc(&mut entries, &metadata));
        if &got != want {
            return Err(bad(format!(
                "the index (tensor names, dtypes, shapes, offsets) has CRC-32 {got}, the header says {want}: the file is corrupted"
            )));
        }
    }
    entries.sort_by_key(|e| (e.3, e.4));
    let mut at = 0u64;
    for (name, _, _, b, e) in &entries {
        if *b != at {
            return Err(bad(format!(
                "'{name}' starts at {b}, but the data before it ends at {at}"
            )));
        }
        at = *e;
    }
    if at != len - 8 - n {
        return Err(bad(format!(
            "the tensors hold {at} bytes, but the file has {} bytes of data",
            len - 8 - n
        )));
    }
    Ok((entries, metadata))
}

/// Reads every tensor of a safetensors file (in the order of their data) and its metadata.
pub fn read(path: &Path) -> Result<Contents> {
    read_into(path, &HashMap::new(), None).map(|(rest, meta, _)| (rest, meta))
}

/// Reads a file into existing variables: a tensor whose name is a key of `targets` and whose
/// dtype and shape match that variable's becomes its value. Returns the other tensors, the
/// metadata and the names read into variables. With `format`, a file whose metadata `format`
/// differs is refused before anything is read. The whole file is read and its checksum
/// verified before any variable changes: a corrupted file leaves them as they were.
pub fn read_into(
    path: &Path,
    targets: &HashMap<String, Variable>,
    format: Option<&str>,
) -> Result<Restored> {
    let (mut f, len) = open(path)?;
    let (entries, metadata) = header(&mut f, path, len)?;
    if let Some(want) = format {
        let got = metadata.get("format").map(String::as_str);
        if got != Some(want) {
            return Err(data_loss(
                path,
                &format!("not a {want} file (format {got:?})"),
            ));
        }
    }
    let want_crc = match metadata.get(CRC_KEY) {
        Some(h) => Some(
            u32::from_str_radix(h, 16)
                .map_err(|_| data_loss(path, &format!("bad checksum '{h}'")))?,
        ),
        None if metadata
            .get("format")
            .is_some_and(|f| f.starts_with("rstf.")) =>
        {
            return Err(data_loss(path, "the checksum is missing"));
        }
        None => None,
    };
    // Everything is read and checked before any variable changes: a restore that fails
    // leaves every variable as it was.
    let mut hasher = crc32fast::Hasher::new();
    let mut values = Vec::with_capacity(entries.len());
    for (name, dtype, shape, b, e) in entries {
        if dtype == DType::String {
            let mut data = try_alloc::<u8>((e - b) as usize, "load")?;
            data.resize((e - b) as usize, 0);
            read_hashed(&mut f, &mut data, &mut hasher)
                .map_err(|err| data_loss(path, &err.to_string()))?;
            let n = shape.iter().product();
            values.push((name, strings_of(&data, n, &shape, path)?));
            continue;
        }
        let count = ((e - b) as usize) / dtype.size();
        let t = crate::with_dtype!(dtype, T => read_elems::<T>(&mut f, count, &shape, path, &mut hasher)?);
        values.push((name, t));
    }
    if let Some(want) = want_crc {
        let got = hasher.finalize();
        if got != want {
            return Err(data_loss(
                path,
                &format!("checksum mismatch (the data has CRC-32 {got:08x}, the header says {want:08x}): the file is corrupted"),
            ));
        }
    }
    let mut rest = Vec::with_capacity(values.len());
    let mut done = Vec::new();
    for (name, t) in values {
        match targets.get(&name) {
            Some(var) if var.dtype() == t.dtype() && var.shape() == t.shape() => {
                var.load(t)?;
                done.push(name);
            }
            _ => rest.push((name, t)),
        }
    }
    Ok((rest, metadata, done))
}

fn read_elems<T: Element>(
    f: &mut File,
    n: usize,
    shape: &[usize],
    path: &Path,
    hasher: &mut crc32fast::Hasher,
) -> Result<Tensor> {
    let fail = |e: std::io::Error| data_loss(path, &e.to_string());
    if T::DTYPE == DType::Bool {
        // Only the bytes 0 and 1 are booleans.
        let mut bytes = try_alloc::<u8>(n, "load")?;
        bytes.resize(n, 0);
        read_hashed(f, &mut bytes, hasher).map_err(fail)?;
        if bytes.iter().any(|&b| b > 1) {
            return Err(data_loss(
                path,
                "a bool tensor holds bytes other than 0 and 1",
            ));
        }
        let v: Vec<bool> = bytes.into_iter().map(|b| b == 1).collect();
        return Tensor::from_vec(v, shape);
    }
    let mut v = try_alloc::<T>(n, "load")?;
    v.resize(n, T::zero());
    // SAFETY: every element type other than bool (handled above) is plain old data for which
    // any bit pattern is valid, with no padding.
    let bytes = unsafe {
        std::slice::from_raw_parts_mut(v.as_mut_ptr() as *mut u8, n * std::mem::size_of::<T>())
    };
    read_hashed(f, bytes, hasher).map_err(fail)?;
    Tensor::from_vec(v, shape)
}
