package io.synctower.common.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

/**
 * Shared machinery of the parser fuzz tests: the iteration count, seeded mutations of valid files,
 * and the check that a parse either succeeds or throws one of the expected types, allocating no
 * more than a cap (so a lying size field cannot make it allocate what the header claims).
 *
 * <p>The count comes from the system property {@value #ITERATIONS_PROPERTY} (the Maven profile
 * {@code fuzz} sets 100000); every test is seeded, so a failure names the seed and iteration that
 * reproduce it.
 */
public final class Fuzz {
  /** System property with the number of inputs per fuzz test. */
  public static final String ITERATIONS_PROPERTY = "synctower.fuzz.iterations";

  /**
   * Most bytes one parse of a small input may allocate: far above what the valid inputs (a few KiB)
   * need, far below what a forged size field would claim.
   */
  public static final long ALLOCATION_CAP = 64L << 20;

  private static final long[] HUGE = {
    0xFFFFFFFFL,
    0x7FFFFFFFL,
    0x80000000L,
    0xFFFFFFFFFFFFFFFFL,
    0x7FFFFFFFFFFFFFFFL,
    1L << 61,
    1L << 62,
    1L << 40,
    0,
    1
  };

  private Fuzz() {}

  /** The iteration count: the system property, or {@code defaultCount}. */
  public static int iterations(final int defaultCount) {
    final String value = System.getProperty(ITERATIONS_PROPERTY);
    return value == null || value.isBlank() ? defaultCount : Integer.parseInt(value.trim());
  }

  /** A parse under test. */
  @FunctionalInterface
  public interface Parse {
    void run() throws Exception;
  }

  /**
   * Runs {@code parse}: it must return normally or throw one of {@code allowed}, and allocate at
   * most {@link #ALLOCATION_CAP} bytes on this thread. Anything else fails the test with {@code
   * what} (seed, iteration, input) in the message. Returns the exception thrown, or null.
   */
  @SafeVarargs
  public static Throwable expect(
      final String what, final Parse parse, final Class<? extends Throwable>... allowed) {
    final long before = allocated();
    Throwable thrown = null;
    try {
      parse.run();
    } catch (final Throwable t) {
      if (Arrays.stream(allowed).noneMatch(c -> c.isInstance(t))) {
        final AssertionError e =
            new AssertionError(what + ": threw " + t + ", expected one of " + List.of(allowed), t);
        throw e;
      }
      thrown = t;
    }
    final long used = allocated() - before;
    if (used > ALLOCATION_CAP) {
      fail(what + ": allocated " + used + " bytes, more than the cap " + ALLOCATION_CAP);
    }
    return thrown;
  }

  private static long allocated() {
    return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean())
        .getCurrentThreadAllocatedBytes();
  }

  /**
   * A mutation of {@code valid}: one to three of bit flips, random bytes, truncation, a 2/4/8-byte
   * field (little- or big-endian) set to a huge or boundary value, insertion, deletion, a digit run
   * replaced by a huge number, or (rarely) random bytes of a similar length.
   */
  public static byte[] mutate(final byte[] valid, final Random rng) {
    byte[] b = valid.clone();
    final int ops = 1 + rng.nextInt(3);
    for (int op = 0; op < ops; op++) {
      if (b.length == 0) {
        b = randomBytes(rng, 1 + rng.nextInt(64));
        continue;
      }
      switch (rng.nextInt(8)) {
        case 0 -> {
          for (int i = 1 + rng.nextInt(8); i > 0; i--) {
            final int at = rng.nextInt(b.length);
            b[at] ^= (byte) (1 << rng.nextInt(8));
          }
        }
        case 1 -> {
          for (int i = 1 + rng.nextInt(4); i > 0; i--) {
            b[rng.nextInt(b.length)] = (byte) rng.nextInt(256);
          }
        }
        case 2 -> b = Arrays.copyOf(b, rng.nextInt(b.length));
        case 3 -> b = setField(b, rng.nextInt(b.length), HUGE[rng.nextInt(HUGE.length)], rng);
        case 4 -> {
          final int at = rng.nextInt(b.length + 1);
          final byte[] insert = randomBytes(rng, 1 + rng.nextInt(16));
          final byte[] out = new byte[b.length + insert.length];
          System.arraycopy(b, 0, out, 0, at);
          System.arraycopy(insert, 0, out, at, insert.length);
          System.arraycopy(b, at, out, at + insert.length, b.length - at);
          b = out;
        }
        case 5 -> {
          final int at = rng.nextInt(b.length);
          final int n = Math.min(b.length - at, 1 + rng.nextInt(16));
          final byte[] out = new byte[b.length - n];
          System.arraycopy(b, 0, out, 0, at);
          System.arraycopy(b, at + n, out, at, b.length - at - n);
          b = out;
        }
        case 6 -> b = hugeNumber(b, rng);
        default -> {
          if (rng.nextInt(8) == 0) {
            b = randomBytes(rng, 1 + rng.nextInt(Math.max(1, b.length * 2)));
          } else {
            b[rng.nextInt(b.length)] ^= (byte) 0xFF;
          }
        }
      }
    }
    return b;
  }

  /**
   * Sets the size fields of zip local and central directory headers (compressed and uncompressed
   * size, {@code PK\3\4} and {@code PK\1\2}) to huge or boundary values, the fields a decompression
   * bomb lies in.
   */
  public static byte[] mutateZipSizes(final byte[] zip, final Random rng) {
    final byte[] b = zip.clone();
    for (int i = 0; i + 30 < b.length; i++) {
      if (b[i] == 'P' && b[i + 1] == 'K' && rng.nextInt(2) == 0) {
        final int offset;
        if (b[i + 2] == 3 && b[i + 3] == 4) {
          offset = i + (rng.nextBoolean() ? 18 : 22);
        } else if (b[i + 2] == 1 && b[i + 3] == 2) {
          offset = i + (rng.nextBoolean() ? 20 : 24);
        } else {
          continue;
        }
        final long v = HUGE[rng.nextInt(HUGE.length)];
        for (int k = 0; k < 4; k++) {
          b[offset + k] = (byte) (v >>> (8 * k));
        }
      }
    }
    return b;
  }

  private static byte[] setField(final byte[] b, final int at, final long value, final Random rng) {
    final int width = new int[] {2, 4, 8}[rng.nextInt(3)];
    final boolean little = rng.nextBoolean();
    for (int k = 0; k < width && at + k < b.length; k++) {
      final int shift = 8 * (little ? k : width - 1 - k);
      b[at + k] = (byte) (value >>> shift);
    }
    return b;
  }

  private static byte[] hugeNumber(final byte[] b, final Random rng) {
    final int start = rng.nextInt(b.length);
    int at = start;
    while (at < b.length && (b[at] < '0' || b[at] > '9')) {
      at++;
    }
    if (at == b.length) {
      return b;
    }
    int end = at;
    while (end < b.length && b[end] >= '0' && b[end] <= '9') {
      end++;
    }
    final String[] numbers = {
      "2305843009213693952",
      "4611686018427387904",
      "9223372036854775807",
      "99999999999999999999",
      "4294967296",
      "0",
      "2147483647"
    };
    final byte[] n = numbers[rng.nextInt(numbers.length)].getBytes(StandardCharsets.US_ASCII);
    final byte[] out = new byte[b.length - (end - at) + n.length];
    System.arraycopy(b, 0, out, 0, at);
    System.arraycopy(n, 0, out, at, n.length);
    System.arraycopy(b, end, out, at + n.length, b.length - end);
    return out;
  }

  /** {@code n} random bytes. */
  public static byte[] randomBytes(final Random rng, final int n) {
    final byte[] b = new byte[n];
    rng.nextBytes(b);
    return b;
  }

  /** The first bytes of an input in hex, for failure messages. */
  public static String describe(final byte[] input) {
    return input.length
        + " bytes: "
        + HexFormat.of().formatHex(input, 0, Math.min(input.length, 96))
        + (input.length > 96 ? "..." : "");
  }
}
