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

  private static String num(final double v) {
    return Double.isNaN(v) ? "" : String.format(java.util.Locale.ROOT, "%.6g", v);
  }
}
