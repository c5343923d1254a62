package io.synctower.worker.assembly;

import io.synctower.common.config.DatasetFactory;
import io.synctower.common.config.RunConfig;
import io.synctower.common.data.DataException;
import io.synctower.common.data.Dataset;
import io.synctower.common.data.Normalization;
import io.synctower.common.data.Split;
import io.synctower.common.nn.Shape;
import java.nio.file.Path;

/**
 * The training and validation sets of a run, and the normalization applied to both, resolved once
 * from the configuration.
 */
public record TrainingData(Dataset train, Dataset validation, Normalization normalization) {

  /** Loads the configured datasets; relative paths resolve against {@code base}. */
  public static TrainingData load(final RunConfig config, final Path base) {
    final RunConfig.Data d = config.data();
    final Dataset full = DatasetFactory.create(d.train(), base);
    final Dataset train;
    final Dataset validation;
    if (d.validation() != null) {
      train = full;
      validation = DatasetFactory.create(d.validation(), base);
    } else if (d.validationSplit() > 0) {
      final Split split = Split.of(full, d.validationSplit(), config.seed());
      train = split.train();
      validation = split.validation();
    } else {
      train = full;
      validation = null;
    }
    if (validation != null
        && (!validation.sampleShape().equals(train.sampleShape())
            || validation.labelPositions() != train.labelPositions()
            || validation.numClasses() != train.numClasses())) {
      throw new DataException(
          "validation set "
              + validation.describe()
              + " does not match the training set "
              + train.describe()
              + " in shape or labels");
    }
    final Normalization normalization =
        switch (d.normalize()) {
          case "auto" -> Normalization.estimate(train, 2048);
          case "values" -> new Normalization(toFloats(d.mean()), toFloats(d.std()));
          default -> null;
        };
    return new TrainingData(train, validation, normalization);
  }

  private static float[] toFloats(final java.util.List<Double> values) {
    final float[] f = new float[values.size()];
    for (int i = 0; i < f.length; i++) {
      f[i] = values.get(i).floatValue();
    }
    return f;
  }

  /** The model's per-sample input shape in the internal layout (H, W, C). */
  public Shape inputShape() {
    return Shape.image(
        train.sampleShape().height(), train.sampleShape().width(), train.sampleShape().channels());
  }
}
