package io.synctower.benchmarks.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BandwidthTest {
  @ParameterizedTest(name = "{0} members: bus factor {1}")
  @CsvSource({"2, 1.0", "3, 1.3333333333333333", "4, 1.5", "8, 1.75"})
  void shouldScaleAlgorithmBandwidthByTwoTimesNMinusOneOverN(
      final int members, final double factor) {
    // A ring all-reduce moves 2(N-1)/N of the buffer per member: 1 GB in 1 s is 1 GB/s algbw.
    assertEquals(factor, Bandwidth.busGBps(1_000_000_000L, 1.0, members), 1e-12);
  }

  @Test
  void shouldReproduceAHandComputedFigure() {
    // 64 MiB in 22.2 ms over 2 members: 67,108,864 / 0.0222 s = 3.0229 GB/s (README table).
    assertEquals(3.0229, Bandwidth.busGBps(64L << 20, 0.0222, 2), 1e-4);
    // 4 members, 16 MiB in 10 ms: 1.5 x 16,777,216 / 0.01 = 2.5166 GB/s.
    assertEquals(2.5166, Bandwidth.busGBps(16L << 20, 0.010, 4), 1e-4);
  }

  @Test
  void shouldGiveCopyBandwidthAsBytesOverTime() {
    assertEquals(12.5, Bandwidth.algorithmGBps(25_000_000L, 0.002), 1e-12);
  }

  @Test
  void shouldKeepTheRelativeErrorOfTheTime() {
    // 10 us +- 1 us is 10% either way, so 4 GB/s +- 0.4.
    assertEquals(0.4, Bandwidth.propagatedError(4.0, 10.0, 1.0), 1e-12);
    assertEquals(Double.NaN, Bandwidth.propagatedError(4.0, 10.0, Double.NaN));
  }

  @Test
  void shouldRefuseASingleMemberOrANonPositiveTime() {
    assertThrows(IllegalArgumentException.class, () -> Bandwidth.busGBps(4096, 1e-6, 1));
    assertThrows(IllegalArgumentException.class, () -> Bandwidth.algorithmGBps(4096, 0));
  }
}
