package io.synctower.worker.assembly;

import io.synctower.common.config.ModelFactory;
import io.synctower.common.config.RunConfig;
import io.synctower.common.nn.Model;
import io.synctower.common.nn.Shape;

/**
 * A model replica as every tower builds it: the configuration's layers, initialized from the run
 * seed. Every tower, the coordinator's own copy and the tools that read a checkpoint build it here,
 * so the replicas agree bit for bit before the first step.
 */
public final class Replicas {
  private Replicas() {}

  /** A replica for the samples of {@code data}. */
  public static Model newModel(final RunConfig config, final TrainingData data) {
    return newModel(config, data.inputShape());
  }

  /** A replica for samples of {@code inputShape} (e.g. the shape a checkpoint records). */
  public static Model newModel(final RunConfig config, final Shape inputShape) {
    final Model model =
        ModelFactory.build(
            config.model().layers(),
            inputShape,
            config.model().dtype(),
            config.bn().decay(),
            config.bn().epsilon());
    model.initialize(config.seed());
    return model;
  }
}
