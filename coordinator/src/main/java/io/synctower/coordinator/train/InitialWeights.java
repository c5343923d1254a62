package io.synctower.coordinator.train;

import io.synctower.common.config.ConfigException;
import io.synctower.common.nn.Model;
import io.synctower.coordinator.towers.Towers;
import java.util.List;
import java.util.function.Function;

/**
 * Initial weights other than the run seed's (a weight import, a pretrained backbone): the change
 * runs once, on the coordinator's replica, and every tower then takes that replica's weights
 * ({@link Towers#loadWeightsFrom}), so the replicas start identical wherever they run. Towers that
 * cannot take weights from the coordinator refuse before anything trains.
 */
final class InitialWeights {
  private InitialWeights() {}

  /**
   * Applies {@code change} to {@code reference} and loads the result into every tower.
   *
   * @return what {@code change} returned (e.g. the import's report)
   * @throws ConfigException when the towers cannot take initial weights (worker processes)
   */
  static <T> T apply(final Function<Model, T> change, final Model reference, final Towers towers)
      throws InterruptedException {
    final T result = change.apply(reference);
    try {
      towers.loadWeightsFrom(reference);
    } catch (UnsupportedOperationException e) {
      throw new ConfigException(
          "--init-weights",
          List.of(
              "initial weights are not supported with worker processes yet; train with"
                  + " `synctower train --towers N` (towers as threads) to start from imported"
                  + " weights"));
    }
    return result;
  }
}
