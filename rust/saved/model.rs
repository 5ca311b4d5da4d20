//! [`SavedModel`]: a saved object tree with its traced functions and variables, as written by
//! `rstf.saved_model.save` in Python, loadable and callable from Rust with no Python:
//!
//! ```no_run
//! let model = rstf::saved::load("./saved".as_ref()).unwrap();
//! let x = rstf::Tensor::from_vec(vec![1i32, 2, 3], &[3]).unwrap();
//! let y = model.call("multiply", &[x]).unwrap();
//! assert_eq!(y[0].to_vec::<i32>().unwrap(), vec![3, 6, 9]);
//! ```
//!
//! A saved model is a directory of three files: `saved_model.json` (format name and version,
//! the object tree, the variables' names and every function's graph and signature),
//! `variables.safetensors` and `constants.safetensors`. See `docs/FORMAT.md`.

use super::graph_def::GraphDef;
use super::{atomic_dir, atomic_write, data_loss, read_small, tensors};
use crate::graph::Graph;
use crate::{DType, Error, Result, Tensor, Variable};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The format's name, stored in every saved model.
pub const FORMAT: &str = "rstf.saved_model";
/// The format's version; loading refuses other versions.
pub const VERSION: u32 = 1;
const DOC: &str = "saved_model.json";
const VARIABLES: &str = "variables.safetensors";
const CONSTANTS: &str = "constants.safetensors";
const MAX_DOC: u64 = 1 << 30;
/// The metadata entry of the variables file that holds the CRC-32 of `saved_model.json`.
const DOC_CRC_KEY: &str = "saved_model.json.crc32";

/// One object of the tree: a module (with children), a variable, a function or a container.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ObjectDef {
    /// `"module"`, `"variable"`, `"function"`, `"list"`, `"tuple"` or `"dict"`.
    pub kind: String,
    /// The Python class of a module, for information.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub class: String,
    /// Attributes (or keys, or positions) and the objects they hold.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub children: BTreeMap<String, usize>,
    /// For a variable: its index in the model's variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable: Option<usize>,
    /// For a function: the indices of its traced signatures in the model's functions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<usize>,
    /// Data of the Python layer (Keras configurations), kept as is.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub extra: Value,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VariableDef {
    key: String,
    name: String,
    trainable: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FunctionDef {
    name: String,
    signature: Value,
    graph: GraphDef,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    format: String,
    version: u32,
    objects: Vec<ObjectDef>,
    variables: Vec<VariableDef>,
    functions: Vec<FunctionDef>,
}

/// One traced signature of a saved function.
#[derive(Clone, Debug)]
pub struct SavedFunction {
    /// The function's name.
    pub name: String,
    /// How Python arguments and results map to the graph's inputs and outputs (see
    /// `docs/FORMAT.md`); opaque to Rust.
    pub signature: Value,
    /// The graph.
    pub graph: Graph,
}

impl SavedFunction {
    /// dtype and shape of each input.
    pub fn input_specs(&self) -> Vec<(DType, Vec<usize>)> {
        self.graph
            .inputs
            .iter()
            .map(|&s| self.graph.specs[s].clone())
            .collect()
    }

    fn accepts(&self, args: &[Tensor]) -> bool {
        self.graph.accepts(args)
    }
}

/// A saved model in memory.
#[derive(Clone, Debug, Default)]
pub struct SavedModel {
    /// The object tree; object 0 is the root.
    pub objects: Vec<ObjectDef>,
    /// The variables with their keys (object paths).
    pub variables: Vec<(String, Variable)>,
    /// Every traced function.
    pub functions: Vec<SavedFunction>,
}

/// Loads the saved model in `dir`.
pub fn load(dir: &Path) -> Result<SavedModel> {
    SavedModel::load(dir)
}

impl SavedModel {
    /// Writes the model to `dir` (replacing a previous one only once the new one is complete).
    /// Variables that a function captures but the tree does not hold are saved too.
    pub fn save(&self, dir: &Path) -> Result<()> {
        self.check_tree(|why| Error::InvalidArgument(format!("save: {why}")))?;
        let mut vars = self.variables.clone();
        let mut key_of: HashMap<u64, String> = HashMap::new();
        for (k, v) in &vars {
            if key_of.insert(v.id(), k.clone()).is_some() {
                return Err(crate::invalid!("save: variable '{k}' is listed twice"));
            }
        }
        let mut consts = Vec::new();
        let mut functions = Vec::with_capacity(self.functions.len());
        for (i, f) in self.functions.iter().enumerate() {
            if let Some(name) = f.graph.callback_name() {
                return Err(Error::Unimplemented(format!(
                    "save: function '{}' calls a Python function ({name}: tf.print, tf.py_function or tf.numpy_function), which a saved model cannot hold",
                    f.name
                )));
            }
            let (graph, c) = GraphDef::from_graph(&f.graph, &format!("{i}/"), &mut |v| {
                key_of
                    .entry(v.id())
                    .or_insert_with(|| {
                        let k = format!("_captured/{}", vars.len());
                        vars.push((k.clone(), v.clone()));
                        k
                    })
                    .clone()
            });
            consts.extend(c);
            functions.push(FunctionDef {
                name: f.name.clone(),
                signature: f.signature.clone(),
                graph,
            });
        }
        let doc = Document {
            format: FORMAT.into(),
            version: VERSION,
            objects: self.objects.clone(),
            variables: vars
                .iter()
                .map(|(k, v)| VariableDef {
                    key: k.clone(),
                    name: v.name().to_string(),
                    trainable: v.trainable(),
                })
                .collect(),
            functions,
        };
        let text = serde_json::to_vec_pretty(&doc).map_err(|e| Error::Internal(e.to_string()))?;
        let values: Vec<(String, Tensor)> =
            vars.iter().map(|(k, v)| (k.clone(), v.peek())).collect();
        let meta: BTreeMap<String, String> = [("format".to_string(), FORMAT.to_string())].into();
        let mut var_meta = meta.clone();
        var_meta.insert(
            DOC_CRC_KEY.into(),
            format!("{:08x}", crc32fast::hash(&text)),
        );
        atomic_dir(dir, |tmp| {
            tensors::write(&tmp.join(VARIABLES), &values, &var_meta)?;
            tensors::write(&tmp.join(CONSTANTS), &consts, &meta)?;
            atomic_write(&tmp.join(DOC), |f| std::io::Write::write_all(f, &text))
        })
    }

    /// Reads and validates the saved model in `dir`.
    pub fn load(dir: &Path) -> Result<SavedModel> {
        crate::error::catch_panic(|| "load".into(), || SavedModel::load_unguarded(dir))
    }

    fn load_unguarded(dir: &Path) -> Result<SavedModel> {
        if !dir.join(DOC).exists() {
            return Err(Error::NotFound(format!(
                "{}: no saved model here (no {DOC})",
                dir.display()
            )));
        }
        let doc_path = dir.join(DOC);
        let text = read_small(&doc_path, MAX_DOC)?;
        let doc: Document = serde_json::from_slice(&text)
            .map_err(|e| data_loss(&doc_path, &format!("not a valid saved model: {e}")))?;
        if doc.format != FORMAT {
            return Err(data_loss(
                &doc_path,
                &format!("format '{}' is not '{FORMAT}'", doc.format),
            ));
        }
        if doc.version != VERSION {
            return Err(data_loss(
                &doc_path,
                &format!(
                    "format version {} is not supported (this build reads version {VERSION})",
                    doc.version
                ),
            ));
        }
        let (values, meta) = tensors::read(&dir.join(VARIABLES))?;
        let want = meta.get(DOC_CRC_KEY).map(String::as_str);
        let got = format!("{:08x}", crc32fast::hash(&text));
        if want != Some(got.as_str()) {
            return Err(data_loss(
                &doc_path,
                &format!(
                    "checksum mismatch (the file has CRC-32 {got}, {} records {want:?}): the file is corrupted",
                    VARIABLES
                ),
            ));
        }
        let values: HashMap<String, Tensor> = values.into_iter().collect();
        let (consts, _) = tensors::read(&dir.join(CONSTANTS))?;
        let consts: HashMap<String, Tensor> = consts.into_iter().collect();
        let mut variables = Vec::with_capacity(doc.variables.len());
        let mut by_key = HashMap::new();
        for d in &doc.variables {
            let t = values.get(&d.key).ok_or_else(|| {
                data_loss(
                    &dir.join(VARIABLES),
                    &format!("variable '{}' is missing", d.key),
                )
            })?;
            let v = Variable::new(t, &d.name, d.trainable)?;
            if by_key.insert(d.key.clone(), v.clone()).is_some() {
                return Err(data_loss(
                    &doc_path,
                    &format!("variable '{}' is listed twice", d.key),
                ));
            }
            variables.push((d.key.clone(), v));
        }
        let functions = doc
            .functions
            .into_iter()
            .map(|f| {
                let graph = f.graph.build(&f.name, &consts, &by_key)?;
                Ok(SavedFunction {
                    name: f.name,
                    signature: f.signature,
                    graph,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let model = SavedModel {
            objects: doc.objects,
            variables,
            functions,
        };
        model.check_tree(|why| data_loss(&doc_path, &why))?;
        Ok(model)
    }

    fn check_tree(&self, err: impl Fn(String) -> Error) -> Result<()> {
        if self.objects.is_empty() {
            return Err(err("the object tree is empty".into()));
        }
        let n = self.objects.len();
        for (i, o) in self.objects.iter().enumerate() {
            if let Some((k, &c)) = o.children.iter().find(|(_, &c)| c >= n) {
                return Err(err(format!("object {i}: child '{k}' is object {c} of {n}")));
            }
            if o.variable.is_some_and(|v| v >= self.variables.len()) {
                return Err(err(format!("object {i}: variable index out of range")));
            }
            if o.functions.iter().any(|&f| f >= self.functions.len()) {
                return Err(err(format!("object {i}: function index out of range")));
            }
        }
        Ok(())
    }

    /// The index of the object at `path`: attribute names from the root, joined by `.` or
    /// `/` (`""` is the root).
    pub fn object(&self, path: &str) -> Result<usize> {
        let mut at = 0;
        for part in path.split(['.', '/']).filter(|p| !p.is_empty()) {
            at = *self.objects[at].children.get(part).ok_or_else(|| {
                let have: Vec<&String> = self.objects[at].children.keys().collect();
                Error::NotFound(format!(
                    "saved model: no attribute '{part}' in '{path}' (there are {have:?})"
                ))
            })?;
        }
        Ok(at)
    }

    /// The traced signatures of the function at `path`.
    pub fn function(&self, path: &str) -> Result<Vec<&SavedFunction>> {
        let o = &self.objects[self.object(path)?];
        if o.kind != "function" {
            return Err(crate::invalid!(
                "saved model: '{path}' is a {}, not a function",
                o.kind
            ));
        }
        Ok(o.functions.iter().map(|&f| &self.functions[f]).collect())
    }

    /// The variable at `path`.
    pub fn variable(&self, path: &str) -> Result<&Variable> {
        let o = &self.objects[self.object(path)?];
        match o.variable {
            Some(v) => Ok(&self.variables[v].1),
            None => Err(crate::invalid!(
                "saved model: '{path}' is a {}, not a variable",
                o.kind
            )),
        }
    }

    /// Calls the function at `path` with tensors: the first traced signature whose input
    /// dtypes and shapes match runs.
    pub fn call(&self, path: &str, args: &[Tensor]) -> Result<Vec<Tensor>> {
        let fs = self.function(path)?;
        match fs.iter().find(|f| f.accepts(args)) {
            Some(f) => f.graph.run(args),
            None => {
                let got: Vec<String> = args
                    .iter()
                    .map(|a| format!("{}{:?}", a.dtype(), a.shape()))
                    .collect();
                let have: Vec<String> = fs
                    .iter()
                    .map(|f| {
                        let s: Vec<String> = f
                            .input_specs()
                            .iter()
                            .map(|(d, s)| format!("{d}{s:?}"))
                            .collect();
                        format!("({})", s.join(", "))
                    })
                    .collect();
                Err(crate::invalid!(
                    "saved model: '{path}' was not traced for arguments ({}); its signatures are {}",
                    got.join(", "),
                    have.join(", ")
                ))
            }
        }
    }
}
