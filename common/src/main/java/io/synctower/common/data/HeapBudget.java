package io.synctower.common.data;

/**
 * Checks a size a file declares against the Java heap before a loader allocates it, so a header
 * that claims gigabytes (by mistake or by design, as in a decompression bomb) is a {@link
 * DataException} naming the file and the figure instead of an {@link OutOfMemoryError} after
 * seconds of inflating.
 *
 * <p>The free heap is estimated as max minus used; when the request does not fit, one {@code
 * System.gc()} is asked for and the estimate repeated, since garbage counts as used until
 * collected. Stateless and thread-safe.
 */
public final class HeapBudget {
  private HeapBudget() {}

  /**
   * Returns if about {@code bytes} more can be allocated on the heap.
   *
   * @param source names the file (and entry) in the message
   * @param what says what the bytes are for, e.g. {@code "x: <f4 [60000, 1, 28, 28]"}
   * @throws DataException naming the source, the figure, the heap and the fix if they cannot
   */
  public static void require(final long bytes, final String source, final String what) {
    if (bytes <= free()) {
      return;
    }
    System.gc();
    final long free = free();
    if (bytes <= free) {
      return;
    }
    throw new DataException(
        source
            + ": "
            + what
            + " needs "
            + mib(bytes)
            + " of memory, but the Java heap has "
            + mib(free)
            + " free (maximum "
            + mib(Runtime.getRuntime().maxMemory())
            + "); check that the file is what you meant, or give the JVM more heap"
            + " (bin/synctower: SYNCTOWER_JAVA_OPTS=-Xmx<size>)");
  }

  private static long free() {
    final Runtime rt = Runtime.getRuntime();
    return rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
  }

  private static String mib(final long bytes) {
    return bytes < (1 << 20) ? bytes + " bytes" : (bytes >> 20) + " MiB";
  }
}
