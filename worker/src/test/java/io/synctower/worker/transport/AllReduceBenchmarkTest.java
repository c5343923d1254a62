package io.synctower.worker.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The benchmark's table is complete and self-consistent; the figures themselves are not tested. */
class AllReduceBenchmarkTest {
  @Test
  void shouldReportEverySizeWithBusBandwidthScaledForTheGroup() throws Exception {
    try (AeronGroup group = AeronGroup.start(TransportKind.IPC, 2)) {
      final List<List<AllReduceBenchmark.Result>> tables =
          group.onMembers(m -> AllReduceBenchmark.run(m, 4 << 10, 256 << 10, 4));
      for (final List<AllReduceBenchmark.Result> table : tables) {
        assertEquals(
            List.of(4096L, 16384L, 65536L, 262144L),
            table.stream().map(AllReduceBenchmark.Result::bytes).toList());
        for (final AllReduceBenchmark.Result r : table) {
          assertTrue(r.medianNanos() > 0, r.toString());
          assertEquals(r.bytes() / (double) r.medianNanos(), r.algbwGBps(), 1e-12);
          assertEquals(r.algbwGBps() * 2 * (2 - 1) / 2, r.busbwGBps(), 1e-12); // N = 2
        }
      }
      assertEquals(tables.get(0).size(), tables.get(1).size());
    }
  }

  @Test
  void shouldRejectSizesThatDoNotFormARange() throws Exception {
    try (AeronGroup group = AeronGroup.start(TransportKind.IPC, 1)) {
      final AeronCollective m = group.members.get(0);
      assertThrows(IllegalArgumentException.class, () -> AllReduceBenchmark.run(m, 1024, 512, 4));
      assertThrows(IllegalArgumentException.class, () -> AllReduceBenchmark.run(m, 1024, 4096, 1));
    }
  }

  @Test
  void memcpyBandwidthShouldBeAPositiveRate() {
    final double gbps = AllReduceBenchmark.memcpyBandwidth();
    assertTrue(gbps > 0.1 && gbps < 1000, gbps + " GB/s");
  }
}
