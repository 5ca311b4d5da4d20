//! The tape and variables from Rust, with no Python: a training loop, second derivatives
//! through nested tapes, and the tape's errors.

use rstf::autodiff::Tape;
use rstf::ops::{ReduceOp, UnaryOp};
use rstf::{Error, Tensor, Variable};

fn t(v: Vec<f64>, shape: &[usize]) -> Tensor {
    Tensor::from_vec(v, shape).unwrap()
}

#[test]
fn linear_regression_converges() {
    // y = 3x - 1 on a grid; fit w, b with SGD on the mean squared error.
    let xs: Vec<f64> = (0..32).map(|i| i as f64 / 16.0 - 1.0).collect();
    let ys: Vec<f64> = xs.iter().map(|x| 3.0 * x - 1.0).collect();
    let (x, y) = (t(xs, &[32, 1]), t(ys, &[32, 1]));
    let w = Variable::new(&t(vec![0.0], &[1, 1]), "w", true).unwrap();
    let b = Variable::new(&t(vec![0.0], &[1]), "b", true).unwrap();
    let lr = Tensor::scalar(0.5f64);
    for _ in 0..300 {
        let tape = Tape::new(false, true);
        let loss = {
            let _active = tape.activate();
            let pred = x
                .matmul(&w.read(), false, false)
                .unwrap()
                .add(&b.read())
                .unwrap();
            let err = pred.sub(&y).unwrap().unary(UnaryOp::Square).unwrap();
            err.mean(None, false).unwrap()
        };
        let g = tape.gradient(&[loss], &[w.id(), b.id()], None).unwrap();
        w.assign_sub(&g[0].as_ref().unwrap().mul(&lr).unwrap())
            .unwrap();
        b.assign_sub(&g[1].as_ref().unwrap().mul(&lr).unwrap())
            .unwrap();
        assert!(tape.is_empty(), "a used non-persistent tape keeps nothing");
    }
    assert!((w.peek().item_f64().unwrap() - 3.0).abs() < 1e-6);
    assert!((b.peek().item_f64().unwrap() + 1.0).abs() < 1e-6);
}

#[test]
fn nested_tapes_give_second_derivatives() {
    let x = Tensor::scalar(2.0f64);
    let outer = Tape::new(false, true);
    let inner = Tape::new(false, true);
    let dy = {
        let _o = outer.activate();
        outer.watch(&x);
        let y = {
            let _i = inner.activate();
            inner.watch(&x);
            x.unary(UnaryOp::Tanh).unwrap()
        };
        inner.gradient(&[y], &[x.id()], None).unwrap()[0]
            .clone()
            .unwrap()
    };
    let d2 = outer.gradient(&[dy], &[x.id()], None).unwrap()[0]
        .clone()
        .unwrap();
    let th = 2.0f64.tanh();
    let want = -2.0 * th * (1.0 - th * th);
    assert!((d2.item_f64().unwrap() - want).abs() < 1e-12);
}

#[test]
fn tape_errors_and_unconnected_sources() {
    let x = t(vec![1.0, 2.0, 3.0], &[3]);
    let unrelated = t(vec![5.0], &[1]);
    let tape = Tape::new(false, true);
    let y = {
        let _a = tape.activate();
        tape.watch(&x);
        x.reduce(ReduceOp::Sum, None, false).unwrap()
    };
    let g = tape
        .gradient(std::slice::from_ref(&y), &[x.id(), unrelated.id()], None)
        .unwrap();
    assert_eq!(
        g[0].as_ref().unwrap().to_vec::<f64>().unwrap(),
        vec![1.0; 3]
    );
    assert!(g[1].is_none());
    let again = tape.gradient(&[y], &[x.id()], None);
    assert!(matches!(again, Err(Error::Runtime(_))));
}

#[test]
fn variable_updates_check_shape_and_dtype() {
    let v = Variable::new(&t(vec![1.0, 2.0], &[2]), "v", true).unwrap();
    let before = v.peek();
    assert!(matches!(
        v.assign(&t(vec![1.0], &[1])),
        Err(Error::InvalidArgument(_))
    ));
    let f32s = Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap();
    assert!(matches!(
        v.assign_add(&f32s),
        Err(Error::InvalidArgument(_))
    ));
    v.assign_add(&t(vec![1.0, 1.0], &[2])).unwrap();
    assert_eq!(v.peek().to_vec::<f64>().unwrap(), vec![2.0, 3.0]);
    // A read taken before the update keeps its values.
    assert_eq!(before.to_vec::<f64>().unwrap(), vec![1.0, 2.0]);
}
