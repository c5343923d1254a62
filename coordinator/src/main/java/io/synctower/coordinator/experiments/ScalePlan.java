package io.synctower.coordinator.experiments;

import io.synctower.common.config.ConfigException;
import io.synctower.common.config.RunConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The runs of a scaling sweep: every tower count with every BN mode, in that order, each for the
 * same number of steps from the same seed (so loss curves compare step for step), the first {@code
 * warmup} steps left out of the timings.
 *
 * <p>{@link #problems} checks the plan against the configuration before anything runs; the command
 * line turns them into one error that names the option, the value and the fix.
 *
 * @param towers tower counts, distinct, each at least 1, in the order given
 * @param bnModes the BN modes each tower count runs with (one or both)
 * @param mode what stays fixed as the tower count grows
 * @param steps optimizer steps of every run (warm-up included)
 * @param warmup first steps of each run left out of the timing statistics
 */
public record ScalePlan(
    List<Integer> towers, List<BnMode> bnModes, ScalingMode mode, int steps, int warmup) {
  public ScalePlan {
    towers = List.copyOf(towers);
    bnModes = List.copyOf(bnModes);
  }

  /** One training run of the sweep. */
  public record Run(int index, int towers, BnMode bn, int globalBatch) {
    /** Its subdirectory of the sweep's run directory, e.g. {@code towers-4-sync}. */
    public String directoryName() {
      return "towers-" + towers + "-" + bn.label();
    }

    /** Mean shard size (shards differ by at most one sample). */
    public double towerBatch() {
      return (double) globalBatch / towers;
    }

    /** One line for progress output. */
    public String describe() {
      return String.format(
          Locale.ROOT,
          "%d tower%s, %s, global batch %d (%s per tower)",
          towers,
          towers == 1 ? "" : "s",
          bn.title(),
          globalBatch,
          globalBatch % towers == 0
              ? Integer.toString(globalBatch / towers)
              : String.format(Locale.ROOT, "%.1f", towerBatch()));
    }
  }

  /**
   * Parses {@code --towers}: positive integers separated by commas, no duplicates.
   *
   * @throws ConfigException naming {@code --towers}, the value and the fix
   */
  public static List<Integer> parseTowers(final String text) {
    final List<Integer> counts = new ArrayList<>();
    final List<String> problems = new ArrayList<>();
    final String fix = "give tower counts >= 1 separated by commas, e.g. --towers 1,2,4";
    if (text == null || text.isBlank()) {
      throw new ConfigException("--towers", List.of("no tower counts; " + fix));
    }
    for (final String part : text.split(",", -1)) {
      final String item = part.strip();
      final int n;
      try {
        n = Integer.parseInt(item);
      } catch (NumberFormatException e) {
        problems.add("--towers " + text + ": '" + item + "' is not a whole number; " + fix);
        continue;
      }
      if (n < 1) {
        problems.add("--towers " + text + ": " + n + " towers cannot train; " + fix);
      } else if (counts.contains(n)) {
        problems.add("--towers " + text + ": " + n + " appears twice; list each tower count once");
      } else {
        counts.add(n);
      }
    }
    if (!problems.isEmpty()) {
      throw new ConfigException("--towers", problems);
    }
    return List.copyOf(counts);
  }

  /**
   * Every problem of this plan with {@code config}, each naming the option, the value and the fix;
   * empty when the sweep can run.
   */
  public List<String> problems(final RunConfig config) {
    final List<String> problems = new ArrayList<>();
    if (towers.isEmpty()) {
      problems.add("--towers: no tower counts; e.g. --towers 1,2,4");
    }
    if (bnModes.isEmpty()) {
      problems.add("--sync-bn: no BN mode to run; use on, off or both");
    }
    if (steps < 1) {
      problems.add("--steps " + steps + ": every run needs at least 1 step");
    }
    if (warmup < 0 || warmup >= steps) {
      problems.add(
          "--warmup "
              + warmup
              + ": must be >= 0 and below --steps "
              + steps
              + " so some steps are timed; lower --warmup or raise --steps");
    }
    final int batch = config.training().batchSize();
    if (mode == ScalingMode.STRONG && !config.training().allowEmptyShards()) {
      for (final int n : towers) {
        if (n > batch) {
          problems.add(
              "--towers "
                  + n
                  + ": more towers than the global batch of "
                  + batch
                  + " in strong mode leaves towers without samples; lower the tower count, raise"
                  + " training.batchSize (--set training.batchSize="
                  + n
                  + "), use --mode weak, or --set training.allowEmptyShards=true");
        }
      }
    }
    if (mode == ScalingMode.WEAK) {
      for (final int n : towers) {
        if ((long) batch * n > Integer.MAX_VALUE) {
          problems.add(
              "--towers " + n + ": weak mode's global batch " + batch + " x " + n + " overflows");
        }
      }
    }
    return problems;
  }

  /** The runs, tower counts in the given order, each with every BN mode. */
  public List<Run> runs(final int configBatch) {
    final List<Run> runs = new ArrayList<>();
    for (final int n : towers) {
      for (final BnMode bn : bnModes) {
        runs.add(new Run(runs.size(), n, bn, mode.globalBatch(configBatch, n)));
      }
    }
    return runs;
  }

  /**
   * The configuration keys a run overrides: its towers, BN mode and global batch, exactly {@link
   * #steps} steps (epochs enough to hold them, so a large weak-mode batch still runs them all), and
   * no periodic checkpoints, which would land inside the timed steps.
   *
   * @param trainSize samples in the training set
   */
  public Map<String, String> overrides(final Run run, final int trainSize) {
    final int batchesPerEpoch = Math.max(1, trainSize / run.globalBatch());
    final int epochs = (steps + batchesPerEpoch - 1) / batchesPerEpoch;
    final Map<String, String> overrides = new LinkedHashMap<>();
    overrides.put("towers", Integer.toString(run.towers()));
    overrides.put("bn.sync", Boolean.toString(run.bn().sync()));
    overrides.put("training.batchSize", Integer.toString(run.globalBatch()));
    overrides.put("training.steps", Integer.toString(steps));
    overrides.put("training.epochs", Integer.toString(Math.max(1, epochs)));
    overrides.put("checkpoint.every.steps", "0");
    overrides.put("checkpoint.every.minutes", "0");
    return overrides;
  }
}
