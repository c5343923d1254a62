package io.synctower.coordinator.doctor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.config.RunConfig;
import io.synctower.common.data.DataException;
import io.synctower.coordinator.train.Trainer;
import io.synctower.worker.assembly.TrainingData;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The summary after training never fails the run it reports on: a check that throws becomes a WARN
 * naming the error, the other checks still report.
 */
class DoctorAfterTrainingTest {
  /** Blobs that cannot be read on one thread: the one that runs the trainer, hence the doctor. */
  private static final class UnreadableHere extends Blobs {
    private final Thread here = Thread.currentThread();

    UnreadableHere(final int size) {
      super(size);
    }

    @Override
    public void sample(final int index, final float[] pixels, final int[] labels, final int off) {
      if (Thread.currentThread() == here) {
        throw new DataException("sample " + index + " is unreadable on this thread");
      }
      super.sample(index, pixels, labels, off);
    }
  }

  @Test
  void checksThatCannotReadTheDataSaySoAndTheRunStillCompletes() throws Exception {
    final RunConfig c = DoctorChecksTest.config(Map.of("doctor", "true", "training.epochs", "1"));
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    final TrainingData data = new TrainingData(new UnreadableHere(64), null, null);
    final Trainer.Summary summary;
    try (Trainer trainer = new Trainer(c, data, new Trainer.Options(null, false, out))) {
      summary = trainer.run();
      Doctor.afterTraining(c, data, summary.model(), summary.epochs(), null, out);
    }
    assertEquals(4, summary.steps());
    final String log = bytes.toString(StandardCharsets.UTF_8);
    assertTrue(
        log.contains(
            "WARN     train vs inference    could not run: io.synctower.common.data.DataException:"
                + " sample"),
        log);
    assertTrue(log.contains("OK       statistic groups"), log);
  }
}
