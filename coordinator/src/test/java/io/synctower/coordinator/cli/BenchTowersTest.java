package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code bench step --towers N} times N tower threads stepping together on their shards (it used to
 * accept the option and time one tower); what it cannot do is an error naming the option.
 */
class BenchTowersTest {
  private static CliRun bench(final String... extra) {
    final String[] base = {
      "bench",
      "step",
      "--set",
      "data.train.size=128",
      "--batch",
      "16",
      "--warmup",
      "1",
      "--warmup-seconds",
      "0",
      "--iterations",
      "2"
    };
    final String[] args = new String[base.length + extra.length];
    System.arraycopy(base, 0, args, 0, base.length);
    System.arraycopy(extra, 0, args, base.length, extra.length);
    return CliRun.of(args);
  }

  @ParameterizedTest(name = "{0} towers, bn.sync={2}")
  @CsvSource({"2, 8+8, true", "3, 6+5+5, false"})
  void towersStepTogetherOnTheirShards(final int towers, final String shards, final boolean sync) {
    final CliRun run = bench("--towers", Integer.toString(towers), "--set", "bn.sync=" + sync);
    assertEquals(0, run.code(), run.all());
    assertTrue(
        run.out().contains("batch 16 on " + towers + " towers as threads (shards " + shards + ")"),
        run.out());
    assertTrue(run.out().contains("bn " + (sync ? "sync" : "local")), run.out());
    assertTrue(run.out().contains("all-reduce"), run.out());
    assertTrue(run.out().contains("samples/s"), run.out());
    assertTrue(run.out().contains("process CPU: "), run.out());
  }

  @Test
  void profileOfSeveralTowersIsAnErrorNamingTheOption() {
    final CliRun run = bench("--towers", "2", "--profile");
    assertEquals(2, run.code(), run.all());
    assertTrue(run.err().startsWith("error: ") && run.err().contains("--profile"), run.err());
    assertTrue(run.err().contains("--towers 1"), run.err());
  }

  @Test
  void moreTowersThanSamplesIsAnErrorNamingTheOption() {
    // The config check stops this unless empty shards are allowed; bench needs a sample per tower.
    final CliRun run = bench("--towers", "17", "--set", "training.allowEmptyShards=true");
    assertEquals(2, run.code(), run.all());
    assertTrue(run.err().contains("--towers") && run.err().contains("17"), run.err());
  }
}
