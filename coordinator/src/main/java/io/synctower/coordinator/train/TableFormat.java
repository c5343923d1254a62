package io.synctower.coordinator.train;

import java.util.Locale;

/** The per-epoch table printed during training. */
final class TableFormat {
  private TableFormat() {}

  static String header(final boolean sequences) {
    return sequences
        ? String.format(
            Locale.ROOT,
            "%5s %8s %10s %9s %9s %10s %9s %9s %10s %9s",
            "epoch",
            "step",
            "loss",
            "char-acc",
            "seq-acc",
            "val-loss",
            "val-char",
            "val-seq",
            "lr",
            "samples/s")
        : String.format(
            Locale.ROOT,
            "%5s %8s %10s %9s %10s %9s %10s %9s",
            "epoch",
            "step",
            "loss",
            "acc",
            "val-loss",
            "val-acc",
            "lr",
            "samples/s");
  }

  static String row(final EpochRecord r, final boolean sequences) {
    return sequences
        ? String.format(
            Locale.ROOT,
            "%5d %8d %10.4f %9s %9s %10s %9s %9s %10.3g %9.1f",
            r.epoch(),
            r.step(),
            r.trainLoss(),
            pct(r.trainAccuracy()),
            pct(r.trainSequenceAccuracy()),
            num(r.validationLoss()),
            pct(r.validationAccuracy()),
            pct(r.validationSequenceAccuracy()),
            r.learningRate(),
            r.samplesPerSecond())
        : String.format(
            Locale.ROOT,
            "%5d %8d %10.4f %9s %10s %9s %10.3g %9.1f",
            r.epoch(),
            r.step(),
            r.trainLoss(),
            pct(r.trainAccuracy()),
            num(r.validationLoss()),
            pct(r.validationAccuracy()),
            r.learningRate(),
            r.samplesPerSecond());
  }

  private static String pct(final double v) {
    return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.2f%%", 100 * v);
  }

  private static String num(final double v) {
    return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.4f", v);
  }
}
