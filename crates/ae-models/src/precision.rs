//! Mixed precision: the encoder's and decoder's layers run in f16 or bf16 while the weights the
//! optimizer updates stay f32 ("master weights", Micikevicius et al. 2018), with dynamic loss
//! scaling for f16.
//!
//! In a training pass of an [`crate::Autoencoder`] whose [`Precision`] is `F16` or `Bf16`, each
//! network (encoder, decoder) gets its parameters cast to the half format inside the autodiff
//! graph, its input cast likewise, and its output cast back to f32: the activations the backward
//! pass keeps and the matrix products and convolutions are in the half format, and the bottleneck,
//! the losses and their sums stay f32. The casts' own gradients carry each weight's gradient back
//! to its f32 parameter, so the optimizer sees f32 gradients of f32 weights.
//!
//! f16 has the range of about 6e-5 to 65504: small gradients underflow to zero. The loss is
//! therefore multiplied by a scale before the backward pass and the gradients divided by it after
//! ([`LossScale`]): a step whose gradients are not all finite is skipped and the scale halved;
//! after [`LossScale::GROWTH_INTERVAL`] good steps it doubles. bf16 has f32's range and needs no
//! scale. Evaluation ([`crate::Autoencoder::encode`], `decode`, `per_sample_loss`) is always f32.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{DType, Device, FloatDType, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// The floating-point format of the networks' layers during training.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Everything in f32.
    #[default]
    F32,
    /// Layers in IEEE half precision, f32 master weights, dynamic loss scaling.
    F16,
    /// Layers in bfloat16 (f32's range, 8 bits of mantissa), f32 master weights.
    Bf16,
}

impl Precision {
    /// The format of the layers' activations and weights in a training pass.
    pub fn dtype(self) -> FloatDType {
        match self {
            Precision::F32 => FloatDType::F32,
            Precision::F16 => FloatDType::F16,
            Precision::Bf16 => FloatDType::BF16,
        }
    }

    /// The name in configs: `f32`, `f16` or `bf16`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
            Precision::Bf16 => "bf16",
        }
    }

    /// The precision named `name` in configs (`f32`, `f16`, `bf16`).
    pub fn from_name(name: &str) -> Option<Self> {
        [Precision::F32, Precision::F16, Precision::Bf16].into_iter().find(|p| p.name() == name)
    }

    /// Whether training needs a [`LossScale`] (f16 only).
    pub fn needs_loss_scale(self) -> bool {
        self == Precision::F16
    }

    /// An error naming `precision` when `device` cannot compute in this format (wgpu has no
    /// bf16, and f16 only where the adapter offers it).
    pub fn check(self, device: &Device) -> Result<(), ConfigError> {
        let dtype = DType::from(self.dtype());
        if self == Precision::F32 || device.supports_dtype(dtype) {
            return Ok(());
        }
        Err(ConfigError::new(
            "precision",
            format!("the backend does not compute in {} on this device; use \"f32\"", self.name()),
        ))
    }

    /// `forward(module, x)` with `module`'s parameters and `x` in this format and the result in
    /// f32; with `F32`, just `forward(module, x)`. Not for modules with running state (batch
    /// norm): Burn casts a running state in place, in every clone of the module.
    pub fn run<M: Module, const D: usize, const E: usize>(
        self,
        module: &M,
        x: Tensor<D>,
        forward: impl FnOnce(&M, Tensor<D>) -> Tensor<E>,
    ) -> Tensor<E> {
        if self == Precision::F32 {
            return forward(module, x);
        }
        let dtype = self.dtype();
        let half = module.clone().map(&mut CastParams(dtype));
        forward(&half, x.cast(dtype)).cast(FloatDType::F32)
    }

    /// `tensor` in this format (for weights used outside their module, e.g. a tied decoder's).
    pub fn cast<const D: usize>(self, tensor: Tensor<D>) -> Tensor<D> {
        if self == Precision::F32 { tensor } else { tensor.cast(self.dtype()) }
    }
}

/// Whether `module` holds a batch norm layer.
pub(crate) fn has_batch_norm<M: Module>(module: &M) -> bool {
    struct Find(bool);
    impl ModuleVisitor for Find {
        fn enter_module(&mut self, _name: &str, container_type: &str) {
            self.0 |= container_type == "Struct:BatchNorm";
        }
    }
    let mut find = Find(false);
    module.visit(&mut find);
    find.0
}

/// Casts every float parameter, keeping its id and its place in the autodiff graph.
struct CastParams(FloatDType);

impl ModuleMapper for CastParams {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let dtype = self.0;
        param.map(|t| t.cast(dtype))
    }
}

/// Dynamic loss scaling for f16 training (the schedule of PyTorch's `GradScaler`): the loss is
/// multiplied by [`LossScale::scale`] before the backward pass, and [`LossScale::unscale`]
/// divides the gradients by it, reports whether the step may be taken, and adapts the scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossScale {
    scale: f64,
    good_steps: u64,
    skipped: u64,
}

impl Default for LossScale {
    fn default() -> Self {
        Self::new(Self::INITIAL)
    }
}

impl LossScale {
    /// The first scale, 2^16.
    pub const INITIAL: f64 = 65536.0;
    /// Good steps in a row after which the scale doubles.
    pub const GROWTH_INTERVAL: u64 = 2000;
    /// The scale never goes below 1 (below, gradients would grow, not be protected).
    pub const MIN: f64 = 1.0;
    /// Nor above 2^24 (f32 gradients times this stay far from f32's range).
    pub const MAX: f64 = 16_777_216.0;

    /// Scaling starting at `scale` (a power of two keeps the unscaled gradients exact).
    pub fn new(scale: f64) -> Self {
        Self { scale: scale.clamp(Self::MIN, Self::MAX), good_steps: 0, skipped: 0 }
    }

    /// The factor the loss is multiplied by before the backward pass.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Steps skipped so far because their gradients overflowed.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Divides every gradient of `model`'s parameters in `grads` by the scale and returns
    /// whether they are all finite (the step may be taken). Not finite: the scale halves and
    /// the step counts as skipped; finite for [`LossScale::GROWTH_INTERVAL`] steps in a row: the
    /// scale doubles.
    pub fn unscale<M: Module>(&mut self, model: &M, grads: &mut GradientsParams) -> bool {
        let mut visitor = Unscale { grads, factor: 1.0 / self.scale, total: None };
        model.visit(&mut visitor);
        // One read from the device: the sum of every gradient is finite iff each one is (bar
        // sums beyond f32's range, which are overflows too).
        let finite = visitor.total.is_none_or(|t| t.into_scalar::<f32>().is_finite());
        if finite {
            self.good_steps += 1;
            if self.good_steps >= Self::GROWTH_INTERVAL {
                self.scale = (self.scale * 2.0).min(Self::MAX);
                self.good_steps = 0;
            }
        } else {
            self.scale = (self.scale / 2.0).max(Self::MIN);
            self.good_steps = 0;
            self.skipped += 1;
        }
        finite
    }
}

/// Multiplies each parameter's gradient by `factor` and sums every gradient into `total`.
struct Unscale<'a> {
    grads: &'a mut GradientsParams,
    factor: f64,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for Unscale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let Some(grad) = self.grads.remove::<D>(param.id) else {
            return;
        };
        let grad = grad.mul_scalar(self.factor);
        let sum = grad.clone().sum().cast(FloatDType::F32);
        self.total = Some(match self.total.take() {
            Some(t) => t + sum,
            None => sum,
        });
        self.grads.register::<D>(param.id, grad);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::{Distribution, TensorData};

    fn device() -> Device {
        Device::flex().autodiff()
    }

    #[test]
    fn names_are_the_config_words() {
        let names = [Precision::F32, Precision::F16, Precision::Bf16].map(Precision::name);
        assert_eq!(names, ["f32", "f16", "bf16"]);
        assert_eq!(names.map(|n| Precision::from_name(n).unwrap().name()), names);
        assert_eq!(Precision::from_name("fp16"), None);
        assert_eq!(Precision::default(), Precision::F32);
        assert!(Precision::F16.needs_loss_scale() && !Precision::Bf16.needs_loss_scale());
    }

    /// The layer runs in the half format (its output rounded as f16/bf16 rounds), the result
    /// comes back f32, and the weight's gradient reaches the f32 parameter as f32, equal to the
    /// f32 gradient within the format's precision.
    #[test]
    fn a_layer_runs_in_the_half_format_and_its_gradient_reaches_the_f32_weight() {
        let device = device();
        let layer: Linear = LinearConfig::new(8, 4).init(&device);
        let x = Tensor::<2>::random([16, 8], Distribution::Normal(0.0, 1.0), &device);
        let reference = {
            let y = Precision::F32.run(&layer, x.clone(), |l, x| l.forward(x));
            let grads = y.clone().powi_scalar(2).sum().backward();
            let grad = layer.weight.grad(&grads).unwrap().into_data().try_to_vec::<f32>().unwrap();
            (y.into_data().try_to_vec::<f32>().unwrap(), grad)
        };
        for (precision, tolerance) in [(Precision::F16, 4e-3), (Precision::Bf16, 3e-2)] {
            let y = precision.run(&layer, x.clone(), |l, x| {
                let y = l.forward(x);
                assert_eq!(y.dtype(), DType::from(precision.dtype()));
                y
            });
            assert_eq!(y.dtype(), DType::F32);
            let grads = y.clone().powi_scalar(2).sum().backward();
            let grad = layer.weight.grad(&grads).expect("the f32 weight has a gradient");
            assert_eq!(grad.dtype(), DType::F32);
            let values = y.into_data().try_to_vec::<f32>().unwrap();
            let scale = reference.0.iter().fold(0f32, |m, v| m.max(v.abs()));
            let mut rounded = false;
            for (a, b) in values.iter().zip(&reference.0) {
                assert!((a - b).abs() <= tolerance * scale, "{precision:?}: {a} vs {b}");
                rounded |= a != b;
            }
            assert!(
                rounded,
                "{precision:?}: the output is the f32 output, so the layer did not run in the half format"
            );
            // The gradient as a whole (error norm over norm): single small entries may differ more.
            let grad = grad.into_data().try_to_vec::<f32>().unwrap();
            let norm = |v: &mut dyn Iterator<Item = f32>| v.map(|x| (x as f64).powi(2)).sum::<f64>().sqrt();
            let error =
                norm(&mut grad.iter().zip(&reference.1).map(|(a, b)| a - b)) / norm(&mut reference.1.iter().copied());
            assert!(error <= 2.0 * tolerance as f64, "{precision:?}: gradient off by {error:.2e} of its norm");
        }
    }

    #[test]
    fn unscaling_divides_exactly_and_overflow_halves_the_scale_and_skips() {
        let device = device();
        let layer: Linear = LinearConfig::new(2, 2).init(&device);
        let x = Tensor::<2>::from_data(TensorData::new(vec![1f32, 2.0, 3.0, 4.0], [2, 2]), &device);
        let grads_of = |factor: f32| {
            let loss = layer.forward(x.clone()).sum().mul_scalar(factor);
            GradientsParams::from_grads(loss.backward(), &layer)
        };
        let mut scale = LossScale::new(1024.0);
        let mut grads = grads_of(1024.0);
        assert!(scale.unscale(&layer, &mut grads));
        let unscaled = grads.get::<2>(layer.weight.id).unwrap().into_data();
        let plain = grads_of(1.0).get::<2>(layer.weight.id).unwrap().into_data();
        assert_eq!(unscaled, plain);
        assert_eq!((scale.scale(), scale.skipped()), (1024.0, 0));

        let mut grads = grads_of(f32::INFINITY);
        assert!(!scale.unscale(&layer, &mut grads));
        assert_eq!((scale.scale(), scale.skipped()), (512.0, 1));
    }

    #[test]
    fn the_scale_doubles_after_a_run_of_good_steps_and_stays_in_bounds() {
        let device = device();
        let layer: Linear = LinearConfig::new(2, 2).init(&device);
        let x = Tensor::<2>::ones([1, 2], &device);
        let mut scale = LossScale::new(LossScale::MAX / 2.0);
        for step in 1..=LossScale::GROWTH_INTERVAL {
            let mut grads = GradientsParams::from_grads(layer.forward(x.clone()).sum().backward(), &layer);
            assert!(scale.unscale(&layer, &mut grads));
            let expected = if step < LossScale::GROWTH_INTERVAL { LossScale::MAX / 2.0 } else { LossScale::MAX };
            assert_eq!(scale.scale(), expected, "after {step} good steps");
        }
        assert_eq!(LossScale::new(0.25).scale(), LossScale::MIN);
    }

    #[test]
    fn the_cpu_backend_computes_in_every_format() {
        for p in [Precision::F32, Precision::F16, Precision::Bf16] {
            assert!(p.check(&Device::flex()).is_ok(), "{p:?}");
        }
    }
}
