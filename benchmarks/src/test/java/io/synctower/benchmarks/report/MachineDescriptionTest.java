package io.synctower.benchmarks.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class MachineDescriptionTest {
  @Test
  void shouldTakeTheFirstCpuModel() {
    final String cpuinfo =
        """
        processor\t: 0
        vendor_id\t: AuthenticAMD
        model name\t: AMD EPYC 9R14 96-Core Processor
        flags\t\t: fpu avx2
        processor\t: 1
        model name\t: AMD EPYC 9R14 96-Core Processor
        """;
    assertEquals("AMD EPYC 9R14 96-Core Processor", MachineDescription.cpuModel(cpuinfo));
    assertEquals("unknown", MachineDescription.cpuModel(""));
  }

  @Test
  void shouldReadMemTotalInKibibytes() {
    final String meminfo = "MemTotal:       24590012 kB\nMemFree:        23000000 kB\n";
    assertEquals(24590012L * 1024, MachineDescription.memTotalBytes(meminfo));
    assertEquals(-1, MachineDescription.memTotalBytes("garbage"));
  }

  @Test
  void shouldReadThePrettyOsName() {
    final String osRelease =
        "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
    assertEquals("Debian GNU/Linux 12 (bookworm)", MachineDescription.osName(osRelease));
    assertEquals("unknown", MachineDescription.osName(""));
  }

  @Test
  void shouldReadTheThreeLoadAverages() {
    assertEquals(
        "1 min 14.06, 5 min 9.94, 15 min 5.97",
        MachineDescription.loadAverages("14.06 9.94 5.97 3/517 29390\n"));
    assertEquals("unknown", MachineDescription.loadAverages(""));
  }

  @Test
  void shouldDescribeThisMachineInAFixedOrderEndingWithTheBackend() {
    final MachineDescription d = MachineDescription.probe("test backend");
    assertEquals(
        List.of("cpu", "cores", "memory", "os", "java", "nd4j", "load"),
        List.copyOf(d.entries().keySet()));
    assertEquals("test backend", d.entries().get("nd4j"));
    assertTrue(
        d.entries().get("java").startsWith(System.getProperty("java.version")),
        d.entries().get("java"));
  }
}
