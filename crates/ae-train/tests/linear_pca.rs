//! A linear autoencoder trained with MSE learns PCA's principal subspace (Baldi & Hornik 1989):
//! on the satellite data, the largest principal angle between the decoder's column space and the
//! top-2 principal components (from an eigendecomposition of the training covariance) is under
//! 1 degree.

mod common;

use ae_models::network::Decoder;
use common::*;

/// Eigenvalues and eigenvectors (columns of `v`, row-major n x n) of a symmetric matrix, by cyclic
/// Jacobi rotations.
fn jacobi_eigen(mut a: Vec<f64>, n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j].powi(2))
            .sum();
        if off < 1e-22 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let (c, s) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

/// Orthonormal basis (Gram-Schmidt) of the given vectors.
fn orthonormal(mut vs: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    for i in 0..vs.len() {
        for j in 0..i {
            let d: f64 = vs[i].iter().zip(&vs[j]).map(|(a, b)| a * b).sum();
            let vj = vs[j].clone();
            vs[i].iter_mut().zip(&vj).for_each(|(a, b)| *a -= d * b);
        }
        let norm = vs[i].iter().map(|a| a * a).sum::<f64>().sqrt();
        vs[i].iter_mut().for_each(|a| *a /= norm);
    }
    vs
}

/// Largest principal angle (degrees) between two 2-D subspaces given by orthonormal bases.
fn largest_angle(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    let dot = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f64>();
    let m = [[dot(&a[0], &b[0]), dot(&a[0], &b[1])], [dot(&a[1], &b[0]), dot(&a[1], &b[1])]];
    // Singular values of the 2x2 matrix m are the cosines of the principal angles.
    let mtm = [
        [m[0][0] * m[0][0] + m[1][0] * m[1][0], m[0][0] * m[0][1] + m[1][0] * m[1][1]],
        [m[0][1] * m[0][0] + m[1][1] * m[1][0], m[0][1] * m[0][1] + m[1][1] * m[1][1]],
    ];
    let (tr, det) = (mtm[0][0] + mtm[1][1], mtm[0][0] * mtm[1][1] - mtm[0][1] * mtm[1][0]);
    let smallest = (tr / 2.0 - ((tr * tr / 4.0 - det).max(0.0)).sqrt()).max(0.0).sqrt();
    smallest.min(1.0).acos().to_degrees()
}

#[test]
fn linear_autoencoder_spans_the_principal_subspace() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("linear");
    // The data root goes into the run's config, so that loading the run here finds the data too.
    let root = format!("data.root=\"{}\"", data_dir().display());
    let o = train(tmp.path(), "linear.toml", &[&root], &["--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let t = ae_train::run_folder::trained::load(&out, Some(ae_train::backend::BackendChoice::Flex)).unwrap();

    // Covariance of the (z-scored) items the model trained on.
    let view = &t.data.train;
    let batch = view.batch(&(0..view.len()).collect::<Vec<_>>());
    let (n, d) = (batch.rows, batch.cols);
    let mean: Vec<f64> = (0..d).map(|j| (0..n).map(|i| batch.x[i * d + j] as f64).sum::<f64>() / n as f64).collect();
    let mut cov = vec![0.0; d * d];
    for i in 0..n {
        for a in 0..d {
            let xa = batch.x[i * d + a] as f64 - mean[a];
            for b in 0..d {
                cov[a * d + b] += xa * (batch.x[i * d + b] as f64 - mean[b]) / n as f64;
            }
        }
    }
    let (vals, vecs) = jacobi_eigen(cov, d);
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&i, &j| vals[j].partial_cmp(&vals[i]).unwrap());
    let pcs = orthonormal(order[..2].iter().map(|&c| (0..d).map(|r| vecs[r * d + c]).collect()).collect());

    // The decoder's single layer maps the 2-D code to the 36 features: its rows span the subspace.
    let Decoder::Dense(dec) = &t.model.decoder else { panic!("dense decoder") };
    assert_eq!(dec.layers.len(), 1);
    let w = dec.layers[0].weight.val().into_data().try_into_vec::<f32>().unwrap(); // [2, 36]
    let learned = orthonormal((0..2).map(|r| (0..d).map(|c| w[r * d + c] as f64).collect()).collect());
    let angle = largest_angle(&learned, &pcs);
    println!(
        "largest principal angle: {angle:.4} degrees (eigenvalues {:.3}, {:.3}, {:.3})",
        vals[order[0]], vals[order[1]], vals[order[2]]
    );
    assert!(angle < 1.0, "largest principal angle {angle} degrees");
}
