package io.synctower.coordinator.doctor;

import io.synctower.common.bn.BatchNorm;
import io.synctower.common.bn.PreciseBn;
import io.synctower.common.nn.Model;
import java.util.ArrayList;
import java.util.List;

/**
 * What the doctor measures on its sample, once, for every check that needs it: the run's model in
 * training mode (batch statistics, grouped as its towers group them) and in inference mode (moving
 * statistics), then the same model after precise BN over the sample (population statistics under
 * the final weights).
 *
 * @param training training mode: each statistic group normalized with its own batch statistics
 * @param inference inference mode with the run's moving statistics
 * @param preciseInference inference mode after precise BN recomputed the trainable layers'
 *     statistics from the sample
 * @param layers every BN layer, in model order
 * @param samples samples in the sample
 */
public record Measurements(
    Metrics training,
    Metrics inference,
    Metrics preciseInference,
    List<LayerStatistics> layers,
    long samples) {

  /**
   * Takes the measurements on {@code copy}, a copy of the run's model that this call changes (its
   * moving statistics end up the population's). Three passes over the sample: inference, training
   * mode (accumulating precise BN's partials from the very same forwards), inference again.
   */
  static Measurements take(final Model copy, final SampleRunner runner) {
    final Metrics inference = runner.inference(copy, "inference mode");
    final List<BatchNorm> bns = BatchNorm.layersOf(copy);
    final List<double[][]> moving = new ArrayList<>();
    for (final BatchNorm bn : bns) {
      moving.add(
          new double[][] {
            copy.tensor(bn.name() + ".running_mean").toDoubleVector(),
            copy.tensor(bn.name() + ".running_var").toDoubleVector()
          });
    }
    final PreciseBn precise = new PreciseBn(copy);
    final Metrics training = runner.training(copy, "training mode", precise::accumulate);
    final boolean anyTrainable = bns.stream().anyMatch(BatchNorm::trainable);
    final Metrics preciseInference;
    if (anyTrainable) {
      precise.apply();
      preciseInference = runner.inference(copy, "after precise BN");
    } else {
      preciseInference = inference;
    }
    final List<LayerStatistics> layers = new ArrayList<>();
    for (int i = 0; i < bns.size(); i++) {
      final BatchNorm bn = bns.get(i);
      layers.add(
          new LayerStatistics(
              bn.name(),
              bn.trainable(),
              bn.epsilon(),
              moving.get(i)[0],
              moving.get(i)[1],
              bn.trainable() ? copy.tensor(bn.name() + ".running_mean").toDoubleVector() : null,
              bn.trainable() ? copy.tensor(bn.name() + ".running_var").toDoubleVector() : null));
    }
    return new Measurements(training, inference, preciseInference, layers, training.samples());
  }
}
