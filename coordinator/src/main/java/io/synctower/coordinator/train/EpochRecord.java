package io.synctower.coordinator.train;

/** One row of {@code metrics.csv} and of the per-epoch table. */
public record EpochRecord(
    int epoch,
    long step,
    double trainLoss,
    double trainAccuracy,
    double trainSequenceAccuracy,
    double validationLoss,
    double validationAccuracy,
    double validationSequenceAccuracy,
    double learningRate,
    double samplesPerSecond,
    double seconds) {

  public static final String CSV_HEADER =
      "epoch,step,train_loss,train_acc,train_seq_acc,val_loss,val_acc,val_seq_acc,lr,samples_per_s,seconds";

  public String csv() {
    return String.join(
        ",",
        Integer.toString(epoch),
        Long.toString(step),
        num(trainLoss),
        num(trainAccuracy),
        num(trainSequenceAccuracy),
        num(validationLoss),
        num(validationAccuracy),
        num(validationSequenceAccuracy),
        num(learningRate),
        num(samplesPerSecond),
        num(seconds));
  }

  /**
   * A row of {@code metrics.csv} read back (a resumed run rewrites the file from the rows its
   * checkpoint holds); values have the file's six significant digits.
   */
  public static EpochRecord parseCsv(final String line) {
    final String[] f = line.split(",", -1);
    if (f.length != 11) {
      throw new IllegalArgumentException("not a metrics.csv row: " + line);
    }
    return new EpochRecord(
        Integer.parseInt(f[0]),
        Long.parseLong(f[1]),
        parse(f[2]),
        parse(f[3]),
        parse(f[4]),
        parse(f[5]),
        parse(f[6]),
        parse(f[7]),
        parse(f[8]),
        parse(f[9]),
        parse(f[10]));
  }

  private static double parse(final String v) {
    return v.isEmpty() ? Double.NaN : Double.parseDouble(v);
  }

  private static String num(final double v) {
    return Double.isNaN(v) ? "" : String.format(java.util.Locale.ROOT, "%.6g", v);
  }
}
