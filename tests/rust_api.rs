//! The Rust API without Python: views, broadcasting, reductions, matmul and errors.

use rstf::ops::movement::SliceItem;
use rstf::ops::{BinaryOp, ReduceOp, UnaryOp};
use rstf::{DType, Error, Tensor};

fn t(v: Vec<f32>, shape: &[usize]) -> Tensor {
    Tensor::from_vec(v, shape).unwrap()
}

#[test]
fn broadcasting_add_over_a_transposed_view() {
    let x = t((0..6).map(|v| v as f32).collect(), &[2, 3]);
    let xt = x.transpose(&[1, 0]).unwrap();
    assert!(xt.shares_storage(&x));
    let row = t(vec![10.0, 20.0], &[2]);
    let y = xt.add(&row).unwrap();
    assert_eq!(y.shape(), &[3, 2]);
    assert_eq!(
        y.to_vec::<f32>().unwrap(),
        vec![10.0, 23.0, 11.0, 24.0, 12.0, 25.0]
    );
}

#[test]
fn slicing_with_negative_steps_is_a_view() {
    let x = Tensor::from_vec((0..12).collect::<Vec<i64>>(), &[3, 4]).unwrap();
    let full = SliceItem::Range {
        start: None,
        stop: None,
        step: -2,
    };
    let y = x.slice(&[SliceItem::Ellipsis, full]).unwrap();
    assert!(y.shares_storage(&x));
    assert_eq!(y.to_vec::<i64>().unwrap(), vec![3, 1, 7, 5, 11, 9]);
}

#[test]
fn large_sums_are_accurate() {
    let n = 10_000_000;
    let x = Tensor::from_vec(vec![0.1f32; n], &[n]).unwrap();
    let s = x
        .reduce(ReduceOp::Sum, None, false)
        .unwrap()
        .to_vec::<f32>()
        .unwrap()[0];
    let exact = 0.1f32 as f64 * n as f64;
    assert!(((s as f64 - exact) / exact).abs() < 1e-6, "{s} vs {exact}");
}

#[test]
fn batched_matmul_broadcasts_batch_dims() {
    let a = Tensor::from_vec((0..12).map(|v| v as f64).collect(), &[2, 2, 3]).unwrap();
    let b = Tensor::from_vec((0..6).map(|v| v as f64).collect(), &[3, 2]).unwrap();
    let c = a.matmul(&b, false, false).unwrap();
    assert_eq!(c.shape(), &[2, 2, 2]);
    assert_eq!(c.to_vec::<f64>().unwrap()[..4], [10.0, 13.0, 28.0, 40.0]);
    let ct = b.matmul(&a, true, true).unwrap();
    assert_eq!(ct.shape(), &[2, 2, 2]);
}

#[test]
fn softmax_rows_sum_to_one_even_for_huge_logits() {
    let x = t(vec![1000.0, 1001.0, 1002.0, -5.0, 0.0, 5.0], &[2, 3]);
    let s = x.softmax(-1, false).unwrap().to_vec::<f32>().unwrap();
    assert!((s[0] + s[1] + s[2] - 1.0).abs() < 1e-6);
    assert!(s.iter().all(|v| v.is_finite()));
}

#[test]
fn bad_input_gives_errors_not_panics() {
    let x = t(vec![1.0, 2.0, 3.0], &[3]);
    let y = t(vec![1.0, 2.0], &[2]);
    assert!(matches!(x.add(&y), Err(Error::InvalidArgument(m)) if m.contains("[3] vs. [2]")));
    let i = Tensor::from_vec(vec![1i32, 2, 3], &[3]).unwrap();
    assert!(
        matches!(x.binary(&i, BinaryOp::Mul), Err(Error::InvalidArgument(m)) if m.contains("int32"))
    );
    assert!(x.reshape(&[2, -1]).is_err());
    assert!(x.transpose(&[1]).is_err());
    let idx = Tensor::from_vec(vec![5i64], &[1]).unwrap();
    assert!(
        matches!(x.gather(&idx, 0), Err(Error::InvalidArgument(m)) if m.contains("not in [0, 3)"))
    );
    let zero = Tensor::from_vec(vec![0i32], &[1]).unwrap();
    assert!(i.binary(&zero, BinaryOp::FloorDiv).is_err());
    assert!(matches!(
        Tensor::zeros(&[1 << 40, 1 << 40], DType::F32),
        Err(Error::ResourceExhausted(_))
    ));
    assert!(i.unary(UnaryOp::Exp).is_err());
    assert!(x.reduce(ReduceOp::Sum, Some(&[1]), false).is_err());
}

#[test]
fn zero_sized_dims_work() {
    let x = Tensor::zeros(&[0, 3], DType::F32).unwrap();
    let s = x.reduce(ReduceOp::Sum, Some(&[0]), false).unwrap();
    assert_eq!(s.to_vec::<f32>().unwrap(), vec![0.0; 3]);
    let m = x
        .matmul(&Tensor::zeros(&[3, 2], DType::F32).unwrap(), false, false)
        .unwrap();
    assert_eq!(m.shape(), &[0, 2]);
    let e = x.unary(UnaryOp::Exp).unwrap();
    assert_eq!(e.shape(), &[0, 3]);
}

#[test]
fn casts_round_trip_through_half_floats() {
    let x = t(vec![1.5, -2.25, 1024.0], &[3]);
    for dt in [DType::F16, DType::BF16, DType::F64] {
        let back = x.cast(dt).unwrap().cast(DType::F32).unwrap();
        assert_eq!(
            back.to_vec::<f32>().unwrap(),
            vec![1.5, -2.25, 1024.0],
            "{dt}"
        );
    }
}
