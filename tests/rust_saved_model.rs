//! Saved models from Rust: loading one written by Python (`tests/data/seed_module`, made by
//! `tests/data/make_fixtures.py`), a save/load round trip, and corrupted files, which must give
//! errors, never panics.

use rstf::graph::trace;
use rstf::saved::model::ObjectDef;
use rstf::saved::{tensors, SavedFunction, SavedModel};
use rstf::{Error, Tensor, Variable};
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/seed_module")
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rstf-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn loads_the_module_saved_by_python() {
    let m = rstf::saved::load(&fixture()).unwrap();
    let x = Tensor::from_vec(vec![1i32, 2, 3], &[3]).unwrap();
    let y = m.call("multiply", &[x]).unwrap();
    assert_eq!(y[0].to_vec::<i32>().unwrap(), vec![3, 6, 9]);
    assert_eq!(
        m.variable("weight")
            .unwrap()
            .read()
            .to_vec::<i32>()
            .unwrap(),
        vec![3]
    );
    // Wrong dtype or shape: an error naming the signatures.
    let bad = Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap();
    let e = m.call("multiply", &[bad]).unwrap_err();
    assert!(e.to_string().contains("int32[3]"), "{e}");
    assert!(matches!(m.call("nothing", &[]), Err(Error::NotFound(_))));
}

/// A model with one variable `w` and a function `f(x) = x * w + 1` that also adds 1 to `w`.
fn small_model() -> SavedModel {
    let w = Variable::new(
        &Tensor::from_vec(vec![2.0f32, 3.0], &[2]).unwrap(),
        "w",
        true,
    )
    .unwrap();
    trace::begin();
    let x = trace::input(&Tensor::from_vec(vec![0.0f32, 0.0], &[2]).unwrap());
    let y = x
        .mul(&w.read())
        .unwrap()
        .add(&Tensor::scalar(1.0f32))
        .unwrap();
    w.assign_add(&Tensor::from_vec(vec![1.0f32, 1.0], &[2]).unwrap())
        .unwrap();
    let g = trace::finish(&[y]).unwrap();
    let root = ObjectDef {
        kind: "module".into(),
        children: [("w".to_string(), 1), ("f".to_string(), 2)].into(),
        ..Default::default()
    };
    SavedModel {
        objects: vec![
            root,
            ObjectDef {
                kind: "variable".into(),
                variable: Some(0),
                ..Default::default()
            },
            ObjectDef {
                kind: "function".into(),
                functions: vec![0],
                ..Default::default()
            },
        ],
        variables: vec![("w".into(), w)],
        functions: vec![SavedFunction {
            name: "f".into(),
            signature: serde_json::Value::Null,
            graph: g,
        }],
    }
}

#[test]
fn round_trip_from_rust() {
    let dir = temp_dir("round");
    let path = dir.join("model");
    small_model().save(&path).unwrap();
    // Saving again replaces the model and leaves no temporary files behind.
    small_model().save(&path).unwrap();
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["model".to_string()]);
    let m = SavedModel::load(&path).unwrap();
    let x = Tensor::from_vec(vec![1.0f32, 10.0], &[2]).unwrap();
    let y = m.call("f", std::slice::from_ref(&x)).unwrap();
    assert_eq!(y[0].to_vec::<f32>().unwrap(), vec![3.0, 31.0]);
    // The assignment ran on the loaded variable.
    assert_eq!(
        m.variable("w").unwrap().read().to_vec::<f32>().unwrap(),
        vec![3.0, 4.0]
    );
    let y = m.call("f", &[x]).unwrap();
    assert_eq!(y[0].to_vec::<f32>().unwrap(), vec![4.0, 41.0]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tensors_of_every_dtype_round_trip() {
    let dir = temp_dir("dtypes");
    let path = dir.join("t.safetensors");
    let items: Vec<(String, Tensor)> = rstf::DType::ALL
        .iter()
        .filter(|&&d| d != rstf::DType::String)
        .map(|&d| {
            let t = Tensor::from_vec(vec![0.0f64, 1.0, 1.0, 0.0, 1.0, 1.0], &[2, 3])
                .unwrap()
                .cast(d)
                .unwrap();
            (d.name().to_string(), t.transpose(&[1, 0]).unwrap())
        })
        .collect();
    tensors::write(&path, &items, &Default::default()).unwrap();
    let (back, _) = tensors::read(&path).unwrap();
    for (name, t) in &items {
        let (_, b) = back.iter().find(|(n, _)| n == name).unwrap();
        assert_eq!(b.dtype(), t.dtype());
        assert_eq!(b.shape(), t.shape());
        assert_eq!(
            b.cast(rstf::DType::F64).unwrap().to_vec::<f64>().unwrap(),
            t.cast(rstf::DType::F64).unwrap().to_vec::<f64>().unwrap()
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn string_tensors_round_trip_and_bad_offsets_are_data_loss() {
    let dir = temp_dir("strings");
    let path = dir.join("s.safetensors");
    let words: Vec<Box<[u8]>> = ["", "Gray wolf", "\u{1F986}", "a"]
        .iter()
        .map(|s| s.as_bytes().into())
        .collect();
    let t = Tensor::from_strings(words.clone(), &[2, 2]).unwrap();
    // A transposed view is packed in row-major order of the view.
    let items = vec![("s".to_string(), t.transpose(&[1, 0]).unwrap())];
    tensors::write(&path, &items, &Default::default()).unwrap();
    let (back, _) = tensors::read(&path).unwrap();
    let want: Vec<Box<[u8]>> = [0, 2, 1, 3].iter().map(|&i| words[i].clone()).collect();
    assert_eq!(back[0].1.shape(), &[2, 2]);
    assert_eq!(back[0].1.to_strings().unwrap(), want);
    // An offset past the bytes: the file is refused, not read out of bounds.
    let mut raw = std::fs::read(&path).unwrap();
    let n = u64::from_le_bytes(raw[..8].try_into().unwrap()) as usize;
    let data = 8 + n;
    raw[data + 8..data + 16].copy_from_slice(&1000u64.to_le_bytes());
    let bad = dir.join("bad.safetensors");
    std::fs::write(&bad, &raw).unwrap();
    let err = tensors::read(&bad).unwrap_err();
    assert!(matches!(err, rstf::Error::DataLoss(_)), "{err:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A small deterministic generator for the corruption tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Loads `dir` and, if that succeeds, calls its function: neither may panic.
fn load_and_call(dir: &Path) -> bool {
    match SavedModel::load(dir) {
        Ok(m) => {
            let x = Tensor::from_vec(vec![1i32, 2, 3], &[3]).unwrap();
            let _ = m.call("multiply", &[x]);
            true
        }
        Err(e) => {
            assert!(
                matches!(
                    e,
                    Error::DataLoss(_) | Error::NotFound(_) | Error::InvalidArgument(_)
                ),
                "unexpected error kind: {e:?}"
            );
            false
        }
    }
}

#[test]
fn corrupted_saved_models_give_errors() {
    let dir = temp_dir("corrupt");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let files = [
        "saved_model.json",
        "variables.safetensors",
        "constants.safetensors",
    ];
    let mut failures = 0;
    for round in 0..300 {
        let d = dir.join(format!("m{round}"));
        std::fs::create_dir_all(&d).unwrap();
        for f in files {
            std::fs::copy(fixture().join(f), d.join(f)).unwrap();
        }
        let target = d.join(files[round % 3]);
        let mut bytes = std::fs::read(&target).unwrap();
        match round % 4 {
            0 => bytes.truncate(rng.next() as usize % bytes.len().max(1)),
            1 | 2 => {
                for _ in 0..1 + rng.next() % 4 {
                    let i = rng.next() as usize % bytes.len();
                    bytes[i] ^= 1 << (rng.next() % 8);
                }
            }
            _ => {
                let n = rng.next() as usize % 300;
                bytes = (0..n).map(|_| rng.next() as u8).collect();
            }
        }
        std::fs::write(&target, &bytes).unwrap();
        if !load_and_call(&d) {
            failures += 1;
        }
        std::fs::remove_dir_all(&d).unwrap();
    }
    // Most corruptions are caught (a flipped bit in a value or in JSON whitespace is not).
    assert!(
        failures > 150,
        "only {failures} of 300 corruptions were detected"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn safetensors_header_lies_are_refused() {
    let dir = temp_dir("lies");
    let path = dir.join("x.safetensors");
    let cases: Vec<Vec<u8>> = vec![
        vec![],
        vec![1, 2, 3],
        // Header length beyond the file.
        [u64::MAX.to_le_bytes().to_vec(), b"{}".to_vec()].concat(),
        // A tensor claiming 2^60 elements.
        {
            let h = br#"{"a":{"dtype":"F32","shape":[1152921504606846976],"data_offsets":[0,4]}}"#;
            [
                (h.len() as u64).to_le_bytes().to_vec(),
                h.to_vec(),
                vec![0; 4],
            ]
            .concat()
        },
        // Offsets past the end.
        {
            let h = br#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#;
            [
                (h.len() as u64).to_le_bytes().to_vec(),
                h.to_vec(),
                vec![0; 4],
            ]
            .concat()
        },
        // An unknown dtype.
        {
            let h = br#"{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#;
            [
                (h.len() as u64).to_le_bytes().to_vec(),
                h.to_vec(),
                vec![0; 8],
            ]
            .concat()
        },
        // Booleans that are not 0 or 1.
        {
            let h = br#"{"a":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}"#;
            [
                (h.len() as u64).to_le_bytes().to_vec(),
                h.to_vec(),
                vec![0, 7],
            ]
            .concat()
        },
    ];
    for bytes in cases {
        std::fs::write(&path, &bytes).unwrap();
        let e = tensors::read(&path).unwrap_err();
        assert!(matches!(e, Error::DataLoss(_)), "{e:?}");
    }
    assert!(matches!(
        tensors::read(&dir.join("missing")),
        Err(Error::NotFound(_))
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}
