package io.synctower.coordinator.cli;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.util.Locale;

/**
 * CPU time this process used, all threads (JVM and native): the figure of {@code bench step} that
 * other load on a shared machine disturbs least. Wall time there measures the scheduler as much as
 * the step; CPU time per sample shows threads that spin or oversubscribe the cores.
 */
final class ProcessCpu {
  private ProcessCpu() {}

  /** This process's CPU time so far, in nanoseconds, or -1 where the JVM cannot say. */
  static long nanos() {
    return ManagementFactory.getOperatingSystemMXBean()
            instanceof com.sun.management.OperatingSystemMXBean os
        ? os.getProcessCpuTime()
        : -1;
  }

  /** One line: CPU ms per step and per sample over {@code steps} timed steps of {@code batch}. */
  static void print(final PrintStream out, final long nanos, final int steps, final int batch) {
    if (nanos < 0 || steps < 1) {
      return;
    }
    final double perStep = nanos / 1e6 / steps;
    out.printf(
        Locale.ROOT,
        "process CPU: %.1f ms/step, %.3f ms/sample (all threads; steadier than wall time on a"
            + " shared machine)%n",
        perStep,
        perStep / batch);
  }
}
