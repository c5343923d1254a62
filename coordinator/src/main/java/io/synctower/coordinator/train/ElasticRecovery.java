package io.synctower.coordinator.train;

import io.synctower.common.checkpoint.StoredCheckpoint;
import io.synctower.common.config.RunConfig;
import io.synctower.common.nn.Model;
import io.synctower.coordinator.towers.TowerFailedException;
import io.synctower.coordinator.towers.Towers;
import java.io.PrintStream;
import java.util.Locale;

/**
 * What a run with {@code failure.elastic} does when a tower is lost: decides whether it can go on
 * (the loss is recoverable, restarts are left, the launcher can start at least one tower, and there
 * is a checkpoint to go on from), and if so replaces the towers and names the checkpoint the new
 * ones restore. Every decision is printed, so the log says why a run went on or ended. The trainer
 * keeps the loop: it catches the failure, asks here, and resumes from the checkpoint given.
 */
final class ElasticRecovery {
  private final RunConfig config;
  private final Trainer.TowerLauncher launcher;
  private final RunFiles files;
  private final PrintStream out;

  ElasticRecovery(
      final RunConfig config,
      final Trainer.TowerLauncher launcher,
      final RunFiles files,
      final PrintStream out) {
    this.config = config;
    this.launcher = launcher;
    this.files = files;
    this.out = out;
  }

  /**
   * Whether the run goes on after {@code e} lost one of {@code towers}, with {@code restarts} done.
   */
  boolean recoverable(final TowerFailedException e, final int restarts, final Towers towers) {
    final RunConfig.Failure f = config.failure();
    if (!f.elastic() || !e.recoverable() || !files.present()) {
      return false;
    }
    if (restarts >= f.maxRestarts()) {
      out.printf(
          Locale.ROOT, "elastic: giving up after %d restart(s) (failure.maxRestarts)%n", restarts);
      return false;
    }
    if (launcher.towersAfterLoss(towers.count()) < 1) {
      out.println("elastic: cannot recover here: " + launcher.whyNoRecovery());
      return false;
    }
    if (files.checkpointStore().committed().isEmpty()) {
      out.println("elastic: no checkpoint to restart from yet; the run ends");
      return false;
    }
    return true;
  }

  /**
   * Closes {@code lost} and starts the towers the run goes on with (the config's copy with the new
   * count); restore {@link #latestCheckpoint} into them next.
   *
   * @param restart this restart's number, from 1
   */
  Towers replace(
      final TowerFailedException e,
      final int restart,
      final Towers lost,
      final long runId,
      final Model reference)
      throws InterruptedException {
    final int before = lost.count();
    final int after = launcher.towersAfterLoss(before);
    out.printf(
        Locale.ROOT,
        "elastic restart %d/%d: %s; going on with %d tower(s) (was %d) from the latest"
            + " checkpoint%n",
        restart,
        config.failure().maxRestarts(),
        e.getMessage(),
        after,
        before);
    closeQuietly(lost);
    final RunConfig resized =
        config.withTowers(after, "the run's config with towers " + after + " after a lost tower");
    return launcher.start(runId, reference, resized);
  }

  /** The latest checkpoint that verifies, each skipped one named in the log. */
  StoredCheckpoint latestCheckpoint() {
    final StoredCheckpoint latest = files.checkpointStore().loadLatest(true);
    for (final String skipped : latest.skipped()) {
      out.println("elastic: skipped " + skipped);
    }
    return latest;
  }

  private void closeQuietly(final Towers old) throws InterruptedException {
    try {
      old.close();
    } catch (RuntimeException closing) {
      out.println("elastic: closing the old towers: " + closing.getMessage());
    }
  }
}
