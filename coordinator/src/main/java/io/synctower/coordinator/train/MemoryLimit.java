package io.synctower.coordinator.train;

import java.lang.management.ManagementFactory;
import org.bytedeco.javacpp.Pointer;

/**
 * The most off-heap memory ND4J can use in this JVM: JavaCPP's {@code maxBytes} (the {@code
 * org.bytedeco.javacpp.maxbytes} system property, by default the heap limit {@code -Xmx}), and
 * never more than the machine's physical memory.
 *
 * @param bytes the limit in bytes ({@link Long#MAX_VALUE} when none is known)
 * @param source what sets it, for messages
 */
public record MemoryLimit(long bytes, String source) {
  /** The limit in force in this JVM. */
  public static MemoryLimit current() {
    final long maxBytes = Pointer.maxBytes();
    long physical = 0;
    if (ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) {
      physical = os.getTotalMemorySize();
    }
    if (physical > 0 && (maxBytes <= 0 || physical < maxBytes)) {
      return new MemoryLimit(physical, "the machine's physical memory");
    }
    if (maxBytes > 0) {
      return new MemoryLimit(
          maxBytes,
          System.getProperty("org.bytedeco.javacpp.maxbytes") != null
              ? "-Dorg.bytedeco.javacpp.maxbytes"
              : "ND4J's off-heap limit, which defaults to the heap limit -Xmx");
    }
    return new MemoryLimit(Long.MAX_VALUE, "no known limit");
  }
}
