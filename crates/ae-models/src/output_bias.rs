//! Data-dependent initialisation of the decoder's output biases: start every reconstruction at
//! the training data's mean instead of at the output activation of 0 (0.5 for a sigmoid).
//!
//! With the biases at the preimage of the mean, the first steps no longer spend themselves
//! learning the average image: the code and the weights carry only what differs from it. This is
//! the initialisation of Kingma & Welling's and Burda et al.'s VAE code (the output bias at the
//! log-odds of the marginal pixel means). The decoder's last layer owns one bias per feature
//! (dense) or per channel (convolutional and sequence decoders, whose features are laid out
//! channel-first), so the means are averaged over each channel first.

use burn::module::Param;
use burn::tensor::{Tensor, TensorData};

use crate::activation::Activation;
use crate::autoencoder::Autoencoder;
use crate::error::ConfigError;
use crate::network::Decoder;
use crate::network::conv::DecoderLayer;

impl Decoder {
    /// The decoder's last bias (one value per output feature or channel), if it has one.
    fn output_bias_mut(&mut self) -> Option<&mut Param<Tensor<1>>> {
        match self {
            Decoder::Dense(d) => {
                if d.is_tied() {
                    d.biases.last_mut()
                } else {
                    d.layers.last_mut().and_then(|layer| layer.bias.as_mut())
                }
            }
            Decoder::Conv(d) => match d.layers.last_mut() {
                Some(DecoderLayer::Transpose(t)) => t.bias.as_mut(),
                Some(DecoderLayer::Upsample(c)) => c.bias.as_mut(),
                None => None,
            },
            Decoder::Sequence(d) => d.output.bias.as_mut(),
        }
    }
}

impl Autoencoder {
    /// This model with its decoder's output biases set so that a zero contribution from the layer
    /// below reconstructs `means` (the training data's mean per input feature, as the model sees
    /// the data): each bias becomes the output activation's preimage of the mean of the features
    /// it serves. Errors name the key at fault: a `means` of the wrong length or not finite, an
    /// output activation without a preimage (only `linear`, `sigmoid` and `tanh` have one), or a
    /// decoder without biases.
    pub fn with_output_bias_from_means(mut self, means: &[f64]) -> Result<Self, ConfigError> {
        if means.len() != self.input {
            return Err(ConfigError::new(
                "output_bias",
                format!("{} means given for a model of {} input features", means.len(), self.input),
            ));
        }
        if let Some(i) = means.iter().position(|m| !m.is_finite()) {
            return Err(ConfigError::new("output_bias", format!("the mean of feature {i} is {}", means[i])));
        }
        let activation = self.output_activation;
        if activation.preimage(0.0).is_none() {
            return Err(ConfigError::new(
                "network.output_activation",
                format!(
                    "the output biases start at the data mean only through a linear, sigmoid or tanh output \
                     activation, not {}",
                    activation.name()
                ),
            ));
        }
        let Some(bias) = self.decoder.output_bias_mut() else {
            return Err(ConfigError::new("network", "the decoder's last layer has no bias"));
        };
        let groups = bias.dims()[0];
        let values = group_preimages(means, groups, activation);
        let device = bias.device();
        let id = bias.id;
        let mut fresh = Param::from_tensor(Tensor::<1>::from_data(TensorData::new(values, [groups]), &device));
        fresh.id = id;
        *bias = fresh;
        Ok(self)
    }
}

/// The preimage under `activation` of the mean of each of `groups` equal consecutive blocks of
/// `means` (a channel-first layout: block c is channel c).
fn group_preimages(means: &[f64], groups: usize, activation: Activation) -> Vec<f32> {
    let per = means.len() / groups.max(1);
    means
        .chunks(per.max(1))
        .take(groups)
        .map(|block| {
            let mean = block.iter().sum::<f64>() / block.len() as f64;
            activation.preimage(mean).expect("checked: the activation has a preimage") as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_averaged_then_inverted() {
        let means = [0.1, 0.3, 0.5, 0.5, 0.9, 0.7];
        let linear = group_preimages(&means, 3, Activation::Linear);
        assert_eq!(linear.len(), 3);
        for (got, want) in linear.iter().zip([0.2, 0.5, 0.8]) {
            assert!((*got as f64 - want).abs() < 1e-6, "{got} vs {want}");
        }
        let sigmoid = group_preimages(&means, 6, Activation::Sigmoid);
        // logit(0.1) = ln(0.1 / 0.9) = -2.1972246
        assert!((sigmoid[0] as f64 + 2.1972246).abs() < 1e-6);
        assert!(sigmoid[2].abs() < 1e-7);
    }
}
