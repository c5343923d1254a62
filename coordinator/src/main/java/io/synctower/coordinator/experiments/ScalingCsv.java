package io.synctower.coordinator.experiments;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes {@code scaling.csv}: {@link #HEADER}, then one line per run (see {@link ScalingRow} for
 * the columns' meaning). Numbers have six significant digits; a value that does not exist (no
 * validation set, no 1-tower baseline) is an empty field.
 */
public final class ScalingCsv {
  /** The columns, in order; times are milliseconds per step. */
  public static final String HEADER =
      "towers,bn,mode,global_batch,tower_batch,timed_steps,samples_per_s,step_ms_median,"
          + "step_ms_p95,step_ms_mean,compute_ms,bn_reduce_ms,allreduce_ms,optimizer_ms,"
          + "data_wait_ms,idle_ms,compute_ms_per_sample,efficiency,final_loss,train_acc,"
          + "val_loss,val_acc";

  private static final MathContext SIX_DIGITS = new MathContext(6);

  private ScalingCsv() {}

  /** The file's text. */
  public static String format(final List<ScalingRow> rows) {
    final StringBuilder b = new StringBuilder(HEADER).append('\n');
    for (final ScalingRow r : rows) {
      b.append(r.towers())
          .append(',')
          .append(r.bn().label())
          .append(',')
          .append(r.mode().label())
          .append(',')
          .append(r.globalBatch());
      for (final double v :
          new double[] {
            r.towerBatch(),
            r.timedSteps(),
            r.samplesPerSecond(),
            r.medianStepMs(),
            r.p95StepMs(),
            r.meanStepMs(),
            r.computeMs(),
            r.bnReduceMs(),
            r.allReduceMs(),
            r.optimizerMs(),
            r.dataWaitMs(),
            r.idleMs(),
            r.computeMsPerSample(),
            r.efficiency(),
            r.finalLoss(),
            r.trainAccuracy(),
            r.validationLoss(),
            r.validationAccuracy()
          }) {
        b.append(',').append(number(v));
      }
      b.append('\n');
    }
    return b.toString();
  }

  /** Writes {@code file}. */
  public static void write(final Path file, final List<ScalingRow> rows) {
    try {
      Files.writeString(file, format(rows));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  static String number(final double v) {
    if (!Double.isFinite(v)) {
      return "";
    }
    return new BigDecimal(v).round(SIX_DIGITS).stripTrailingZeros().toPlainString();
  }
}
