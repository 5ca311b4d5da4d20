//! Criterion benches of the CPU kernels (`cargo bench`): dispatch of a tiny add, a large add,
//! matmul, softmax and a large sum. `benches/compare.py` times the same work beside numpy,
//! PyTorch, TensorFlow and JAX from Python.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rstf::ops::ReduceOp;
use rstf::{DType, Tensor};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let tiny = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    c.bench_function("add 2x3 f32", |b| {
        b.iter(|| black_box(&tiny).add(&tiny).unwrap())
    });

    let big = Tensor::random_uniform(&[4 << 20], 0.0, 1.0, DType::F32, 1).unwrap();
    c.bench_function("add 4M f32", |b| {
        b.iter(|| black_box(&big).add(&big).unwrap())
    });
    c.bench_function("reduce_sum 4M f32", |b| {
        b.iter(|| black_box(&big).reduce(ReduceOp::Sum, None, false).unwrap())
    });

    let mut g = c.benchmark_group("matmul f32");
    g.sample_size(10);
    for n in [256usize, 1024] {
        let m = Tensor::random_uniform(&[n, n], -1.0, 1.0, DType::F32, 2).unwrap();
        g.bench_with_input(BenchmarkId::from_parameter(n), &m, |b, m| {
            b.iter(|| m.matmul(m, false, false).unwrap())
        });
    }
    g.finish();

    let s = Tensor::random_normal(&[2048, 2048], 0.0, 1.0, DType::F32, 3).unwrap();
    c.bench_function("softmax 2048x2048 f32", |b| {
        b.iter(|| black_box(&s).softmax(-1, false).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
