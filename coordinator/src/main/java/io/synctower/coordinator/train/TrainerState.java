package io.synctower.coordinator.train;

import io.synctower.common.checkpoint.CheckpointException;
import io.synctower.common.metrics.MetricSums;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The coordinator's part of a checkpoint ({@code trainer.yaml}): where the run stands between two
 * steps. With the replica's tensors and the resolved config it is everything a run needs to go on
 * exactly: data order, dropout masks and augmentation are pure functions of (seed, epoch, step,
 * sample position), so the position is the whole random state; the learning rate is a function of
 * the step.
 *
 * @param step optimizer steps completed (the next step's number)
 * @param epoch the epoch in progress, 1-based
 * @param batchesDone batches of {@code epoch} completed; equal to the epoch's batch count when only
 *     its validation and record are left
 * @param epochSums training sums of {@code epoch} so far, so its row is the same after a resume
 * @param epochSeconds training time spent in {@code epoch} so far
 * @param metricsRows the {@code metrics.csv} rows of completed epochs
 * @param configSha256 hash of the resolved config the run trains with
 * @param towers the tower count that wrote the checkpoint (the math does not depend on it with
 *     SyncBN; bit-exact resumes need the same count)
 * @param dataBase the folder relative data paths of the config resolve against
 */
public record TrainerState(
    long step,
    int epoch,
    int batchesDone,
    MetricSums epochSums,
    double epochSeconds,
    List<String> metricsRows,
    String configSha256,
    int towers,
    String dataBase) {

  public String toYaml() {
    final Map<String, Object> m = new LinkedHashMap<>();
    m.put("format", 1);
    m.put("step", step);
    m.put("epoch", epoch);
    m.put("batchesDone", batchesDone);
    final Map<String, Object> sums = new LinkedHashMap<>();
    // Hex keeps the loss sum bit-exact: the resumed epoch's row equals the uninterrupted one.
    sums.put("lossSum", Double.toHexString(epochSums.lossSum()));
    sums.put("correctPositions", epochSums.correctPositions());
    sums.put("correctSequences", epochSums.correctSequences());
    sums.put("samples", epochSums.samples());
    m.put("epochSums", sums);
    m.put("epochSeconds", epochSeconds);
    m.put("metricsRows", metricsRows);
    m.put("configSha256", configSha256);
    m.put("towers", towers);
    m.put("dataBase", dataBase);
    final DumperOptions dump = new DumperOptions();
    dump.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    return new Yaml(dump).dump(m);
  }

  /**
   * Reads {@code trainer.yaml}.
   *
   * @throws CheckpointException naming {@code source} and the missing or malformed key
   */
  public static TrainerState parse(final String yaml, final String source) {
    try {
      final Map<?, ?> m = new Yaml(new SafeConstructor(new LoaderOptions())).load(yaml);
      final Map<?, ?> sums = (Map<?, ?>) require(m, "epochSums", source);
      final List<?> rows = (List<?>) require(m, "metricsRows", source);
      return new TrainerState(
          number(m, "step", source).longValue(),
          number(m, "epoch", source).intValue(),
          number(m, "batchesDone", source).intValue(),
          new MetricSums(
              Double.parseDouble(String.valueOf(require(sums, "lossSum", source))),
              number(sums, "correctPositions", source).longValue(),
              number(sums, "correctSequences", source).longValue(),
              number(sums, "samples", source).longValue()),
          number(m, "epochSeconds", source).doubleValue(),
          rows.stream().map(String::valueOf).toList(),
          String.valueOf(require(m, "configSha256", source)),
          number(m, "towers", source).intValue(),
          String.valueOf(require(m, "dataBase", source)));
    } catch (ClassCastException | NumberFormatException e) {
      throw new CheckpointException(source + ": malformed trainer state: " + e.getMessage());
    }
  }

  private static Object require(final Map<?, ?> m, final String key, final String source) {
    final Object v = m == null ? null : m.get(key);
    if (v == null) {
      throw new CheckpointException(source + ": trainer state has no '" + key + "'");
    }
    return v;
  }

  private static Number number(final Map<?, ?> m, final String key, final String source) {
    return (Number) require(m, key, source);
  }
}
