//! Serves a saved model without Python: loads it, calls one of its functions on a JSON nested
//! list, prints the result as JSON.
//!
//! ```text
//! cargo run --release --example run_saved_model -- ./saved multiply '[1, 2, 3]'
//! [3,6,9]
//! ```
//!
//! A function of several tensors takes a JSON list with one entry per argument.

use rstf::{DType, Tensor};
use serde_json::Value;

/// Flattens a nested list into its shape and numbers.
fn flatten(
    v: &Value,
    depth: usize,
    shape: &mut Vec<usize>,
    out: &mut Vec<f64>,
) -> Result<(), String> {
    match v {
        Value::Array(items) => {
            if shape.len() == depth {
                shape.push(items.len());
            } else if shape.get(depth) != Some(&items.len()) {
                return Err("the nested lists are ragged".into());
            }
            items
                .iter()
                .try_for_each(|x| flatten(x, depth + 1, shape, out))
        }
        Value::Number(n) => {
            if shape.len() != depth {
                return Err("the nested lists are ragged".into());
            }
            out.push(n.as_f64().ok_or("a number is out of range")?);
            Ok(())
        }
        Value::Bool(b) => {
            out.push(if *b { 1.0 } else { 0.0 });
            Ok(())
        }
        other => Err(format!("not a number: {other}")),
    }
}

fn to_json(t: &Tensor) -> Result<Value, String> {
    let vals = t
        .cast(DType::F64)
        .and_then(|c| c.to_vec::<f64>())
        .map_err(|e| e.to_string())?;
    let leaf = |x: f64| -> Value {
        match t.dtype() {
            DType::Bool => Value::Bool(x != 0.0),
            d if d.is_float() => serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
            _ => Value::from(x as i64),
        }
    };
    fn build(vals: &[f64], shape: &[usize], leaf: &dyn Fn(f64) -> Value) -> Value {
        match shape.split_first() {
            None => leaf(vals[0]),
            Some((&n, rest)) => {
                let step: usize = rest.iter().product();
                Value::Array(
                    (0..n)
                        .map(|i| build(&vals[i * step..], rest, leaf))
                        .collect(),
                )
            }
        }
    }
    Ok(build(&vals, t.shape(), &leaf))
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        return Err(format!(
            "usage: {} DIR FUNCTION 'JSON-NESTED-LIST'",
            args[0]
        ));
    }
    let model = rstf::saved::load(args[1].as_ref()).map_err(|e| e.to_string())?;
    let input: Value =
        serde_json::from_str(&args[3]).map_err(|e| format!("bad JSON input: {e}"))?;
    let mut last_err = format!("'{}' has no traced signature", args[2]);
    for f in model.function(&args[2]).map_err(|e| e.to_string())? {
        let specs = f.input_specs();
        let values: Vec<&Value> = match (&input, specs.len()) {
            (v, 1) => vec![v],
            (Value::Array(items), n) if items.len() == n => items.iter().collect(),
            _ => continue,
        };
        let mut tensors = Vec::new();
        for (v, (dtype, want)) in values.iter().zip(&specs) {
            let (mut shape, mut flat) = (Vec::new(), Vec::new());
            flatten(v, 0, &mut shape, &mut flat)?;
            if !dtype.is_float() && flat.iter().any(|x| x.fract() != 0.0) {
                break; // not an integer input
            }
            let t = Tensor::from_vec(flat, &shape).and_then(|t| t.cast(*dtype));
            match t {
                Ok(t) if t.shape() == want.as_slice() => tensors.push(t),
                _ => break,
            }
        }
        if tensors.len() != specs.len() {
            continue;
        }
        match model.call(&args[2], &tensors) {
            Ok(outs) => {
                let json: Vec<Value> = outs.iter().map(to_json).collect::<Result<_, _>>()?;
                let out = if json.len() == 1 {
                    json[0].clone()
                } else {
                    Value::Array(json)
                };
                println!("{out}");
                return Ok(());
            }
            Err(e) => last_err = e.to_string(),
        }
    }
    let sigs: Vec<String> = model
        .function(&args[2])
        .map_err(|e| e.to_string())?
        .iter()
        .map(|f| format!("{:?}", f.input_specs()))
        .collect();
    Err(format!(
        "{last_err}; no signature accepts the input (signatures: {})",
        sigs.join(", ")
    ))
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
