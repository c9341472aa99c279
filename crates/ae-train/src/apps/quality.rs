//! Image quality measures: PSNR and SSIM (Wang, Bovik, Sheikh & Simoncelli 2004).

/// Peak signal-to-noise ratio (dB) of `test` against `reference`, values in `[0, peak]`.
/// Identical images give infinity.
pub fn psnr(reference: &[f32], test: &[f32], peak: f64) -> f64 {
    let mse = reference.iter().zip(test).map(|(&a, &b)| (a as f64 - b as f64).powi(2)).sum::<f64>()
        / reference.len().max(1) as f64;
    10.0 * (peak * peak / mse).log10()
}

/// Side of the Gaussian window.
const WINDOW: usize = 11;
/// Standard deviation of the Gaussian window.
const SIGMA: f64 = 1.5;

/// Mean structural similarity of two images `[channels, height, width]` (channel-first, values
/// in `[0, peak]`): an 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, population
/// statistics, averaged over the positions where the window fits and over channels. This is
/// scikit-image's `structural_similarity(..., gaussian_weights=True, sigma=1.5,
/// use_sample_covariance=False, data_range=peak)`. Images smaller than the window use a window of
/// their smaller side.
pub fn ssim(reference: &[f32], test: &[f32], shape: [usize; 3], peak: f64) -> f64 {
    let [c, h, w] = shape;
    let win = WINDOW.min(h).min(w);
    let weights = gaussian(win);
    let (c1, c2) = ((0.01 * peak).powi(2), (0.03 * peak).powi(2));
    let mut total = 0.0;
    let mut count = 0usize;
    for ch in 0..c {
        let plane = |img: &[f32], y: usize, x: usize| img[ch * h * w + y * w + x] as f64;
        for y0 in 0..=h - win {
            for x0 in 0..=w - win {
                let (mut mx, mut my, mut xx, mut yy, mut xy) = (0.0, 0.0, 0.0, 0.0, 0.0);
                for dy in 0..win {
                    for dx in 0..win {
                        let g = weights[dy * win + dx];
                        let (a, b) = (plane(reference, y0 + dy, x0 + dx), plane(test, y0 + dy, x0 + dx));
                        mx += g * a;
                        my += g * b;
                        xx += g * a * a;
                        yy += g * b * b;
                        xy += g * a * b;
                    }
                }
                let (vx, vy, cov) = (xx - mx * mx, yy - my * my, xy - mx * my);
                total += ((2.0 * mx * my + c1) * (2.0 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
                count += 1;
            }
        }
    }
    total / count.max(1) as f64
}

/// A normalised `n x n` Gaussian window.
fn gaussian(n: usize) -> Vec<f64> {
    let r = (n as f64 - 1.0) / 2.0;
    let one: Vec<f64> = (0..n).map(|i| (-((i as f64 - r).powi(2)) / (2.0 * SIGMA * SIGMA)).exp()).collect();
    let sum: f64 = one.iter().sum();
    let mut out = Vec::with_capacity(n * n);
    for a in &one {
        for b in &one {
            out.push(a * b / (sum * sum));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psnr_matches_hand_values() {
        // MSE 0.01 -> 20 dB; MSE 0.0001 -> 40 dB.
        assert!((psnr(&[0.0, 0.0], &[0.1, -0.1], 1.0) - 20.0).abs() < 1e-6);
        assert!((psnr(&[0.5; 4], &[0.51; 4], 1.0) - 40.0).abs() < 1e-4);
        assert!(psnr(&[0.3], &[0.3], 1.0).is_infinite());
    }

    #[test]
    fn ssim_matches_scikit_image() {
        // skimage.metrics.structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
        // use_sample_covariance=False, data_range=1.0) on these two 16x20 images: 0.6803853186762704
        // (scikit-image 0.26, computed once and pasted here).
        let (h, w) = (16, 20);
        let a: Vec<f32> = (0..h * w).map(|i| (((i / w) * 7 + (i % w) * 3) % 13) as f32 / 12.0).collect();
        let b: Vec<f32> =
            (0..h * w).map(|i| (((i / w) * 5 + (i % w) * 11) % 17) as f32 / 16.0 * 0.5 + a[i] * 0.5).collect();
        let got = ssim(&a, &b, [1, h, w], 1.0);
        assert!((got - 0.6803853186762704).abs() < 1e-5, "{got}");
    }

    #[test]
    fn ssim_of_identical_and_constant_images() {
        let img: Vec<f32> = (0..3 * 16 * 16).map(|i| ((i * 37) % 101) as f32 / 100.0).collect();
        assert!((ssim(&img, &img, [3, 16, 16], 1.0) - 1.0).abs() < 1e-12);
        // Constant images a and b: only the luminance term remains, (2ab + C1) / (a^2 + b^2 + C1).
        let (a, b) = (0.2f32, 0.6f32);
        let c1 = 0.0001;
        let want = (2.0 * 0.2 * 0.6 + c1) / (0.04 + 0.36 + c1);
        let got = ssim(&vec![a; 12 * 12], &vec![b; 12 * 12], [1, 12, 12], 1.0);
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        // Negating the contrast around the mean makes the structure term negative.
        let x: Vec<f32> = (0..144).map(|i| if (i / 12 + i % 12) % 2 == 0 { 0.2 } else { 0.8 }).collect();
        let y: Vec<f32> = x.iter().map(|v| 1.0 - v).collect();
        assert!(ssim(&x, &y, [1, 12, 12], 1.0) < -0.9);
    }
}
