//! Autoencoders for [Burn](https://burn.dev), composed from five independent axes.
//!
//! | axis | type | values today |
//! |---|---|---|
//! | network | [`network::NetworkConfig`] | dense MLP (optionally tied), convolutional |
//! | bottleneck | [`bottleneck::BottleneckConfig`] | deterministic, identity, Gaussian (VAE), top-k (k-sparse), binary (hashing), adversarial (AAE) |
//! | penalty | [`penalty::PenaltyConfig`] | L1 activity, KL sparsity, contractive |
//! | corruption | [`corruption::CorruptionConfig`] | Gaussian, masking, salt-and-pepper, Cauchy |
//! | loss | [`loss::ReconstructionLoss`] | MSE, BCE, MAE, correntropy, Bernoulli and Gaussian likelihoods |
//!
//! A whole model is described by one [`AutoencoderConfig`]; [`AutoencoderConfig::init`] builds an
//! [`Autoencoder`] on any Burn [`Device`](burn::tensor::Device) (CPU or GPU, chosen at run time).
//! [`Autoencoder::forward`] returns the reconstruction, the code and every loss term by name, so
//! a training loop never needs to know which variant it trains.
//!
//! ```
//! use ae_models::{AutoencoderConfig, network::DenseConfig, activation::Activation};
//! use burn::tensor::{Device, Tensor, Distribution};
//!
//! let device = Device::default();
//! let mut config = AutoencoderConfig::dense(DenseConfig::new(vec![64], 8));
//! config.network.dense_mut().activation = Activation::Relu;
//! let model = config.init(16, &device).unwrap();
//! let x = Tensor::<2>::random([4, 16], Distribution::Uniform(0.0, 1.0), &device);
//! let out = model.forward(x.clone(), None);
//! assert_eq!(out.reconstruction.dims(), [4, 16]);
//! assert_eq!(out.code.dims(), [4, 8]);
//! ```

pub mod activation;
pub mod autoencoder;
pub mod bottleneck;
pub mod corruption;
pub mod error;
pub mod jacobian;
pub mod likelihood;
pub mod loss;
pub mod network;
pub mod penalty;
pub mod schedule;
pub mod step;
pub mod train;

pub use autoencoder::{Autoencoder, AutoencoderConfig, ForwardOutput, LossTerm};
pub use error::ConfigError;
