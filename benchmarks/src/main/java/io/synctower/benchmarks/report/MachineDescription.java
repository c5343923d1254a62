package io.synctower.benchmarks.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What a result was measured on, as {@code key: value} lines for the CSV header: CPU model, cores,
 * memory, operating system, Java, the ND4J backend (from {@link BackendDescription}) and the load
 * averages when the report was written (other processes on the machine during the run: on a shared
 * machine they, not the code, may explain a slow figure). Figures from different machines are only
 * comparable with this next to them.
 *
 * @param entries in display order
 */
public record MachineDescription(Map<String, String> entries) {
  public MachineDescription {
    entries = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(entries));
  }

  /**
   * This machine, read from {@code /proc} and {@code /etc/os-release} (each falls back to "unknown"
   * where the file is missing, e.g. not Linux) and the JVM's properties.
   *
   * @param nd4j the ND4J backend line ({@link BackendDescription#describe()})
   */
  public static MachineDescription probe(final String nd4j) {
    final Map<String, String> e = new LinkedHashMap<>();
    e.put("cpu", cpuModel(read("/proc/cpuinfo")));
    e.put("cores", Runtime.getRuntime().availableProcessors() + " available to the JVM");
    final long mem = memTotalBytes(read("/proc/meminfo"));
    e.put(
        "memory", mem < 0 ? "unknown" : String.format(Locale.ROOT, "%.1f GiB", mem / 1073741824.0));
    e.put(
        "os",
        osName(read("/etc/os-release"))
            + " ("
            + System.getProperty("os.name")
            + " "
            + System.getProperty("os.version")
            + ", "
            + System.getProperty("os.arch")
            + ")");
    e.put(
        "java",
        System.getProperty("java.version")
            + " ("
            + System.getProperty("java.vm.name")
            + " "
            + System.getProperty("java.vm.version")
            + ")");
    e.put("nd4j", nd4j);
    e.put("load", loadAverages(read("/proc/loadavg")));
    return new MachineDescription(e);
  }

  /** The first {@code model name} of a {@code /proc/cpuinfo} text, or "unknown". */
  static String cpuModel(final String cpuinfo) {
    final String value = field(cpuinfo, "model name");
    return value == null || value.isEmpty() ? "unknown" : value;
  }

  /** {@code MemTotal} of a {@code /proc/meminfo} text in bytes (the file says kB = KiB), or -1. */
  static long memTotalBytes(final String meminfo) {
    final String value = field(meminfo, "MemTotal");
    if (value == null) {
      return -1;
    }
    final String[] parts = value.trim().split("\\s+");
    try {
      final long n = Long.parseLong(parts[0]);
      return parts.length > 1 && parts[1].equalsIgnoreCase("kB") ? n * 1024 : n;
    } catch (NumberFormatException ex) {
      return -1;
    }
  }

  /**
   * The 1, 5 and 15 minute load averages of a {@code /proc/loadavg} text ("14.06 9.94 5.97 3/517
   * 29390"), as "1 min 14.06, 5 min 9.94, 15 min 5.97", or "unknown".
   */
  static String loadAverages(final String loadavg) {
    final String[] f = loadavg.trim().split("\\s+");
    if (f.length < 3) {
      return "unknown";
    }
    return "1 min " + f[0] + ", 5 min " + f[1] + ", 15 min " + f[2];
  }

  /** {@code PRETTY_NAME} of an {@code /etc/os-release} text without its quotes, or "unknown". */
  static String osName(final String osRelease) {
    for (final String line : osRelease.split("\\R")) {
      if (line.startsWith("PRETTY_NAME=")) {
        return line.substring("PRETTY_NAME=".length()).replaceAll("^\"|\"$", "");
      }
    }
    return "unknown";
  }

  /** The value after the colon of the first line whose key (before the colon) is {@code key}. */
  private static String field(final String text, final String key) {
    for (final String line : text.split("\\R")) {
      final int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).trim().equals(key)) {
        return line.substring(colon + 1).trim();
      }
    }
    return null;
  }

  private static String read(final String file) {
    try {
      return Files.readString(Path.of(file));
    } catch (IOException | RuntimeException e) {
      return ""; // not Linux, or not readable: the field says "unknown"
    }
  }
}
