//! `Op::infer` (abstract evaluation): on fully known shapes it must agree with what the op's
//! kernel produces (or fail where the kernel fails), and on partially known shapes it must
//! give the shapes worked out by hand from TensorFlow's shape functions.

use rstf::graph::{Op, Spec};
use rstf::ops::conv::Window;
use rstf::ops::movement::SliceItem;
use rstf::ops::{BinaryOp, ReduceOp, UnaryOp};
use rstf::{DType, Tensor};

/// Ones (so that no op fails on a value, as a division by zero would).
fn t(dtype: DType, shape: &[usize]) -> Tensor {
    let one = Tensor::scalar(1.0f32).cast(dtype).unwrap();
    Tensor::fill(shape, &one).unwrap()
}

fn f32s(shape: &[usize]) -> Tensor {
    t(DType::F32, shape)
}

/// Runs `op` on `inputs` and infers it from their specs: both fail, or both give the same
/// dtypes and shapes.
fn agree(op: &Op, inputs: &[Tensor]) {
    let specs: Vec<Spec> = inputs
        .iter()
        .map(|x| Spec::known(x.dtype(), x.shape()))
        .collect();
    let inferred = op.infer(&specs);
    match op.eval(inputs) {
        Ok(outs) => {
            let got: Vec<Spec> = outs
                .iter()
                .map(|y| Spec::known(y.dtype(), y.shape()))
                .collect();
            assert_eq!(inferred.as_ref().ok(), Some(&got), "{op} on {specs:?}");
        }
        Err(e) => assert!(
            inferred.is_err(),
            "{op} on {specs:?}: the kernel fails ({e}) but infer gives {inferred:?}"
        ),
    }
}

fn range(start: Option<i64>, stop: Option<i64>, step: i64) -> SliceItem {
    SliceItem::Range { start, stop, step }
}

#[test]
fn elementwise_rules_match_the_kernels() {
    use DType::*;
    agree(&Op::Unary(UnaryOp::Exp), &[f32s(&[2, 3])]);
    agree(&Op::Unary(UnaryOp::Exp), &[t(I32, &[2])]);
    agree(&Op::Unary(UnaryOp::Abs), &[t(I32, &[2])]);
    agree(&Op::Unary(UnaryOp::Abs), &[t(Bool, &[2])]);
    agree(&Op::Unary(UnaryOp::LogicalNot), &[t(Bool, &[2])]);
    agree(&Op::Unary(UnaryOp::LogicalNot), &[f32s(&[2])]);
    for b in [
        BinaryOp::Add,
        BinaryOp::Div,
        BinaryOp::Less,
        BinaryOp::Equal,
        BinaryOp::Maximum,
        BinaryOp::LogicalAnd,
    ] {
        for dt in [F32, I32, Bool] {
            agree(&Op::Binary(b), &[t(dt, &[2, 1, 3]), t(dt, &[4, 3])]);
        }
        agree(&Op::Binary(b), &[f32s(&[2, 3]), t(I32, &[2, 3])]);
        agree(&Op::Binary(b), &[f32s(&[2, 3]), f32s(&[4, 3])]);
        agree(&Op::Binary(b), &[f32s(&[]), f32s(&[0, 3])]);
    }
    agree(
        &Op::Select,
        &[t(Bool, &[2, 1]), f32s(&[1, 3]), f32s(&[2, 3])],
    );
    agree(&Op::Select, &[f32s(&[2, 1]), f32s(&[1, 3]), f32s(&[2, 3])]);
    agree(
        &Op::Select,
        &[t(Bool, &[2, 1]), f32s(&[1, 3]), t(I32, &[2, 3])],
    );
    agree(&Op::Cast(I64), &[f32s(&[2, 0])]);
    agree(&Op::ReluGrad, &[f32s(&[2, 3]), f32s(&[2, 3])]);
    agree(&Op::Softplus, &[f32s(&[4])]);
}

#[test]
fn reductions_and_matmul_match_the_kernels() {
    use DType::*;
    for axes in [
        None,
        Some(vec![0]),
        Some(vec![0, -1]),
        Some(vec![1, 1]),
        Some(vec![3]),
    ] {
        for keepdims in [false, true] {
            for op in [ReduceOp::Sum, ReduceOp::Max, ReduceOp::Any] {
                for dt in [F32, Bool] {
                    let r = Op::Reduce {
                        op,
                        axes: axes.clone(),
                        keepdims,
                    };
                    agree(&r, &[t(dt, &[2, 3, 4])]);
                }
            }
            let c = Op::Count {
                axes: axes.clone(),
                dtype: F32,
            };
            agree(&c, &[f32s(&[2, 3, 4])]);
        }
    }
    for axis in [0, 1, -1, 2] {
        agree(&Op::ArgReduce { axis, max: true }, &[f32s(&[2, 3])]);
        agree(&Op::ArgReduce { axis, max: false }, &[f32s(&[2, 0])]);
    }
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let m = Op::MatMul {
            transpose_a: ta,
            transpose_b: tb,
        };
        agree(&m, &[f32s(&[5, 3, 3]), f32s(&[3, 3])]);
        agree(&m, &[f32s(&[2, 1, 2, 3]), f32s(&[4, 3, 2])]);
        agree(&m, &[f32s(&[2, 3]), f32s(&[4, 5])]);
        agree(&m, &[f32s(&[3]), f32s(&[3, 3])]);
        agree(&m, &[t(I32, &[2, 2]), t(I32, &[2, 2])]);
        agree(&m, &[t(Bool, &[2, 2]), t(Bool, &[2, 2])]);
    }
    for axis in [-1, 0, 2] {
        agree(&Op::Softmax { axis, log: false }, &[f32s(&[2, 3])]);
    }
    agree(
        &Op::Softmax {
            axis: -1,
            log: true,
        },
        &[t(I32, &[2, 3])],
    );
}

#[test]
fn movement_rules_match_the_kernels() {
    let x = f32s(&[2, 3, 4]);
    for p in [vec![2, 0, 1], vec![0, 1], vec![0, 0, 1], vec![0, 1, 3]] {
        agree(&Op::Transpose(p), std::slice::from_ref(&x));
    }
    for s in [
        vec![-1, 4],
        vec![6, -1],
        vec![24],
        vec![5, -1],
        vec![2, 2, 2],
        vec![-1, -1],
    ] {
        agree(&Op::Reshape(s), std::slice::from_ref(&x));
    }
    agree(&Op::Reshape(vec![-1, 0]), &[f32s(&[0, 3])]);
    agree(&Op::Reshape(vec![0, -1]), &[f32s(&[0, 3])]);
    for a in [-4, -1, 0, 3, 4] {
        agree(&Op::ExpandDims(a), std::slice::from_ref(&x));
    }
    let ones = f32s(&[1, 3, 1]);
    for a in [vec![], vec![0], vec![-1, 0], vec![1], vec![3]] {
        agree(&Op::Squeeze(a), std::slice::from_ref(&ones));
    }
    for s in [vec![2, 3, 4], vec![5, 2, 3, 4], vec![2, 1, 4], vec![3, 4]] {
        agree(&Op::BroadcastTo(s), &[f32s(&[3, 1])]);
        agree(&Op::BroadcastTo(vec![2, 3, 4]), std::slice::from_ref(&x));
    }
    for a in [vec![0], vec![-1, 1], vec![0, 0], vec![5]] {
        agree(&Op::Reverse(a), std::slice::from_ref(&x));
    }
    agree(
        &Op::Concat(1),
        &[x.clone(), f32s(&[2, 5, 4]), f32s(&[2, 0, 4])],
    );
    agree(&Op::Concat(0), &[x.clone(), f32s(&[2, 5, 4])]);
    agree(&Op::Concat(-1), &[x.clone(), t(DType::I32, &[2, 3, 4])]);
    for a in [0, 1, -1] {
        agree(&Op::Unstack(a), std::slice::from_ref(&x));
    }
    for sizes in [
        vec![1, -1],
        vec![1, 2],
        vec![3, 1],
        vec![-1, -1],
        vec![0, 3, 0],
    ] {
        agree(&Op::Split { sizes, axis: 1 }, std::slice::from_ref(&x));
    }
    for m in [vec![2, 1, 3], vec![0, 1, 1], vec![1, 1]] {
        agree(&Op::Tile(m), std::slice::from_ref(&x));
    }
    for p in [vec![(1, 2), (0, 1), (3, 0)], vec![(1, 1)]] {
        agree(&Op::Pad(p), &[x.clone(), f32s(&[])]);
    }
    let idx = t(DType::I32, &[2, 2]);
    for a in [0, 1, 2, -1, 3] {
        agree(&Op::Gather(a), &[x.clone(), idx.clone()]);
    }
    agree(&Op::Gather(0), &[x.clone(), f32s(&[2])]);
    agree(&Op::Fill(vec![2, 3]), &[f32s(&[])]);
    agree(&Op::OneHot(4), &[t(DType::I32, &[3]), f32s(&[]), f32s(&[])]);
    agree(&Op::MaxPoolPatches, &[f32s(&[1, 2, 2, 4, 3])]);
    agree(&Op::MaxPoolPatches, &[f32s(&[2, 2, 4, 3])]);
    for same in [false, true] {
        for (size, strides) in [([3, 3], [2, 2]), ([2, 1], [1, 3]), ([8, 1], [1, 1])] {
            let window = Window::new(size, strides, [1, 1], same).unwrap();
            agree(
                &Op::Im2Col {
                    window,
                    pad_value: 0.0,
                },
                &[f32s(&[1, 7, 6, 2])],
            );
        }
    }
    let rnd = Op::Random {
        normal: true,
        shape: vec![2, 3],
        a: 0.0,
        b: 1.0,
        dtype: DType::F64,
        seed: 1,
    };
    agree(&rnd, &[]);
}

#[test]
fn slice_lengths_follow_numpy_for_every_start_stop_and_step() {
    let ends = [
        None,
        Some(-7),
        Some(-3),
        Some(-1),
        Some(0),
        Some(1),
        Some(2),
        Some(5),
        Some(9),
    ];
    for n in 0..5 {
        let x = f32s(&[n, 2]);
        for &start in &ends {
            for &stop in &ends {
                for step in [-3, -1, 1, 2] {
                    agree(
                        &Op::Slice(vec![range(start, stop, step)]),
                        std::slice::from_ref(&x),
                    );
                }
            }
            if let Some(i) = start {
                agree(
                    &Op::Slice(vec![SliceItem::Index(i)]),
                    std::slice::from_ref(&x),
                );
            }
        }
    }
    let x = f32s(&[2, 3, 4]);
    let items = [
        vec![SliceItem::Ellipsis, SliceItem::Index(-1)],
        vec![
            SliceItem::NewAxis,
            SliceItem::Index(0),
            SliceItem::Ellipsis,
            SliceItem::NewAxis,
        ],
        vec![
            range(None, None, -1),
            SliceItem::Ellipsis,
            range(Some(1), Some(3), 1),
        ],
        vec![
            SliceItem::Index(0),
            SliceItem::Index(0),
            SliceItem::Index(0),
            SliceItem::Index(0),
        ],
    ];
    for it in items {
        agree(&Op::Slice(it), std::slice::from_ref(&x));
    }
}

fn spec(dtype: DType, dims: &[Option<usize>]) -> Spec {
    Spec::new(dtype, dims)
}

fn infer1(op: Op, inputs: &[Spec]) -> Vec<Option<usize>> {
    let mut out = op.infer(inputs).unwrap();
    assert_eq!(out.len(), 1);
    out.pop().unwrap().dims
}

#[test]
fn unknown_dimensions_stay_unknown_unless_a_rule_fixes_them() {
    use DType::*;
    let n = None;
    let add = || Op::Binary(BinaryOp::Add);
    assert_eq!(
        infer1(
            add(),
            &[spec(F32, &[n, Some(3)]), spec(F32, &[Some(1), Some(3)])]
        ),
        [n, Some(3)]
    );
    assert_eq!(
        infer1(add(), &[spec(F32, &[n]), spec(F32, &[Some(5)])]),
        [Some(5)]
    );
    assert_eq!(infer1(add(), &[spec(F32, &[n]), spec(F32, &[n])]), [n]);
    let mm = Op::MatMul {
        transpose_a: false,
        transpose_b: false,
    };
    assert_eq!(
        infer1(
            mm.clone(),
            &[spec(F32, &[n, Some(3)]), spec(F32, &[Some(3), Some(4)])]
        ),
        [n, Some(4)]
    );
    assert!(mm
        .infer(&[spec(F32, &[n, Some(3)]), spec(F32, &[Some(2), Some(4)])])
        .is_err());
    assert_eq!(
        infer1(
            Op::Reshape(vec![-1, 784]),
            &[spec(F32, &[n, Some(28), Some(28)])]
        ),
        [n, Some(784)]
    );
    assert_eq!(
        infer1(
            Op::Reshape(vec![-1, 5]),
            &[spec(F32, &[Some(4), Some(5), Some(2)])]
        ),
        [Some(8), Some(5)]
    );
    let sum1 = Op::Reduce {
        op: ReduceOp::Sum,
        axes: Some(vec![1]),
        keepdims: false,
    };
    assert_eq!(infer1(sum1, &[spec(F32, &[n, Some(3)])]), [n]);
    assert_eq!(
        infer1(
            Op::Concat(0),
            &[spec(F32, &[n, Some(3)]), spec(F32, &[Some(2), n])]
        ),
        [n, Some(3)]
    );
    assert_eq!(
        infer1(
            Op::Concat(1),
            &[spec(F32, &[n, Some(3)]), spec(F32, &[Some(2), Some(4)])]
        ),
        [Some(2), Some(7)]
    );
    assert_eq!(
        infer1(
            Op::Slice(vec![SliceItem::Ellipsis, range(Some(1), Some(3), 1)]),
            &[spec(F32, &[n, Some(5)])]
        ),
        [n, Some(2)]
    );
    assert_eq!(
        infer1(
            Op::Gather(0),
            &[spec(F32, &[n, Some(4)]), spec(I64, &[Some(7)])]
        ),
        [Some(7), Some(4)]
    );
    assert!(Op::Unstack(0).infer(&[spec(F32, &[n, Some(2)])]).is_err());
    assert_eq!(
        Op::Split {
            sizes: vec![2, -1],
            axis: 0
        }
        .infer(&[spec(F32, &[n])])
        .unwrap(),
        [spec(F32, &[Some(2)]), spec(F32, &[n])]
    );
    let window = Window::new([3, 3], [1, 1], [1, 1], false).unwrap();
    assert_eq!(
        infer1(
            Op::Im2Col {
                window,
                pad_value: 0.0
            },
            &[spec(F32, &[n, n, Some(6), Some(2)])]
        ),
        [n, n, Some(4), Some(18)]
    );
    assert_eq!(
        infer1(Op::Squeeze(vec![1]), &[spec(F32, &[n, n, Some(3)])]),
        [n, Some(3)]
    );
    assert!(Op::Squeeze(vec![])
        .infer(&[spec(F32, &[n, Some(1)])])
        .is_err());
    assert_eq!(
        infer1(Op::Tile(vec![2, 3]), &[spec(F32, &[n, Some(2)])]),
        [n, Some(6)]
    );
}
