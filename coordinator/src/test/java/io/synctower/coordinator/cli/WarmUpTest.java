package io.synctower.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class WarmUpTest {
  private final ByteArrayOutputStream printed = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);

  @Test
  void withoutSecondsItShouldRunExactlyTheStepsNumberedFromZero() throws InterruptedException {
    final List<Integer> seen = new ArrayList<>();
    assertEquals(4, new WarmUp(4, 0).run(seen::add, out));
    assertEquals(List.of(0, 1, 2, 3), seen);
    assertTrue(printed.toString(StandardCharsets.UTF_8).startsWith("warm-up: 4 steps in "));
  }

  @Test
  void itShouldKeepStepping_untilTheSecondsHavePassed() throws InterruptedException {
    final long start = System.nanoTime();
    // Steps of about 10 ms: 0.2 s needs about 20 of them, far more than the 2 asked for.
    final int steps = new WarmUp(2, 0.2).run(i -> Thread.sleep(10), out);
    final double seconds = (System.nanoTime() - start) / 1e9;
    assertTrue(seconds >= 0.2, "stopped after " + seconds + " s");
    assertTrue(steps > 2, steps + " steps");
    assertTrue(
        printed.toString(StandardCharsets.UTF_8).contains("(at least 2 steps and 0.2 s, untimed)"),
        printed.toString(StandardCharsets.UTF_8));
  }

  @Test
  void slowStepsShouldStillRunTheMinimumCount() throws InterruptedException {
    // The seconds pass during the first step; the count still wins.
    assertEquals(3, new WarmUp(3, 0.001).run(i -> Thread.sleep(5), out));
  }

  @Test
  void badValuesShouldBeRefusedOnTheCommandLine_namingTheOption() {
    final CliRun seconds = CliRun.of("bench", "step", "--warmup-seconds", "-1");
    assertEquals(2, seconds.code(), seconds.all());
    assertTrue(seconds.err().contains("--warmup-seconds"), seconds.err());
    assertTrue(seconds.err().contains("got -1.0"), seconds.err());
    assertFalse(seconds.err().contains("\tat "), "no stack trace: " + seconds.err());
    final CliRun steps = CliRun.of("bench", "step", "--warmup", "-2");
    assertEquals(2, steps.code(), steps.all());
    assertTrue(steps.err().contains("--warmup"), steps.err());
    assertFalse(steps.err().contains("\tat "), "no stack trace: " + steps.err());
  }
}
