package io.synctower.common.comm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The in-process collective against a plain-Java reference of the documented reduction order. */
class InProcessGroupTest {
  private final ExecutorService pool = Executors.newCachedThreadPool();

  @AfterEach
  void stop() {
    pool.shutdownNow();
  }

  /** Runs {@code body(rank)} on {@code n} threads and returns the results by rank. */
  private <T> List<T> onMembers(final int n, final IntFunction<T> body) throws Exception {
    final List<Future<T>> futures = new ArrayList<>();
    for (int r = 0; r < n; r++) {
      final int rank = r;
      futures.add(pool.submit(() -> body.apply(rank)));
    }
    final List<T> out = new ArrayList<>();
    for (final Future<T> f : futures) {
      out.add(f.get(30, TimeUnit.SECONDS));
    }
    return out;
  }

  private static double[] values(final int rank, final int length, final int salt) {
    final Random random = new Random(31L * rank + salt);
    final double[] v = new double[length];
    for (int i = 0; i < length; i++) {
      // Mixed magnitudes, so a different association gives a different rounding.
      v[i] = random.nextGaussian() * Math.pow(10, random.nextInt(12) - 6);
    }
    return v;
  }

  /** Chunk c summed as ((b_c + b_c+1) + ...) + b_c-1, ranks modulo n. */
  private static double[] reference(final int n, final int length, final int salt) {
    final double[][] b = new double[n][];
    for (int r = 0; r < n; r++) {
      b[r] = values(r, length, salt);
    }
    final double[] out = new double[length];
    for (int c = 0; c < n; c++) {
      for (long i = Chunks.start(length, n, c); i < Chunks.start(length, n, c + 1); i++) {
        double acc = b[c][(int) i];
        for (int k = 1; k < n; k++) {
          acc += b[(c + k) % n][(int) i];
        }
        out[(int) i] = acc;
      }
    }
    return out;
  }

  @ParameterizedTest(name = "{0} members, length {1}")
  @CsvSource({"1, 5", "2, 1", "2, 1000", "3, 7", "3, 1001", "5, 3", "8, 1", "8, 4099"})
  void allReduceFollowsTheFixedOrderBitForBitOnEveryMember(final int n, final int length)
      throws Exception {
    final InProcessGroup group = new InProcessGroup(n);
    final List<double[][]> results =
        onMembers(
            n,
            rank -> {
              final INDArray a = Nd4j.createFromArray(values(rank, length, 1));
              final INDArray b = Nd4j.createFromArray(values(rank, length + 3, 2));
              group.member(rank).allReduceSum(a, b); // two buffers, one round
              return new double[][] {a.toDoubleVector(), b.toDoubleVector()};
            });
    final double[] expectedA = reference(n, length, 1);
    final double[] expectedB = reference(n, length + 3, 2);
    for (int r = 0; r < n; r++) {
      assertArrayEquals(expectedA, results.get(r)[0], 0.0, "member " + r + ", buffer a");
      assertArrayEquals(expectedB, results.get(r)[1], 0.0, "member " + r + ", buffer b");
    }
  }

  /**
   * Gradient buckets: a buffer reduced range by range, cut at uneven places (one range inside a
   * chunk, others across chunk boundaries, an empty one), ends with the bits of one whole call,
   * because each element keeps its chunk of the whole buffer. With 3 or more members another
   * association gives other bits (AeronCollectiveTest.anotherSummationOrderShouldGiveOtherBits), so
   * reducing each range as a buffer of its own would fail this.
   */
  @ParameterizedTest(name = "{0} members")
  @CsvSource({"2", "3", "5"})
  void rangesReduceEachElementInTheOrderOfTheWholeBuffer(final int n) throws Exception {
    final int length = 1001;
    final long[] cuts = {1001, 990, 990, 777, 400, 399, 13, 0}; // reduced last range first
    final InProcessGroup group = new InProcessGroup(n);
    final List<double[]> results =
        onMembers(
            n,
            rank -> {
              final INDArray a = Nd4j.createFromArray(values(rank, length, 4));
              for (int k = 1; k < cuts.length; k++) {
                group.member(rank).allReduceSumRange(a, cuts[k], cuts[k - 1]);
              }
              return a.toDoubleVector();
            });
    final double[] expected = reference(n, length, 4);
    for (int r = 0; r < n; r++) {
      assertArrayEquals(expected, results.get(r), 0.0, "member " + r);
    }
  }

  @Test
  void rangeOutsideTheBufferOrDifferentRangesAreRejected() throws Exception {
    final InProcessGroup single = new InProcessGroup(1);
    final INDArray a = Nd4j.zeros(DataType.DOUBLE, 4);
    final IllegalArgumentException outside =
        assertThrows(
            IllegalArgumentException.class, () -> single.member(0).allReduceSumRange(a, 2, 5));
    assertTrue(outside.getMessage().contains("[2, 5)"), outside.getMessage());
    final InProcessGroup group = new InProcessGroup(2);
    final List<String> errors =
        onMembers(
            2,
            rank -> {
              try {
                group.member(rank).allReduceSumRange(Nd4j.zeros(DataType.DOUBLE, 8), rank, 6);
                return "";
              } catch (IllegalArgumentException e) {
                return e.getMessage();
              }
            });
    for (final String e : errors) {
      assertTrue(e.contains("member 1 reduces elements [1, 6), member 0 [0, 6)"), e);
    }
  }

  @Test
  void floatBuffersAndRepeatedCallsReuseTheGroup() throws Exception {
    final int n = 3;
    final InProcessGroup group = new InProcessGroup(n);
    final List<float[]> results =
        onMembers(
            n,
            rank -> {
              final INDArray a = Nd4j.valueArrayOf(new long[] {10}, rank + 1.0f, DataType.FLOAT);
              for (int i = 0; i < 50; i++) {
                group.member(rank).allReduceSum(a);
                a.divi(6); // sum of 1+2+3 = 6: stays at the same magnitude
              }
              return a.toFloatVector();
            });
    // 1+2+3 = 6, /6 -> 1 on every member; then each round sums 3 and halves: 0.5^49, exact.
    for (final float[] r : results) {
      for (final float v : r) {
        assertEquals((float) Math.pow(0.5, 49), v);
      }
    }
  }

  @Test
  void broadcastCopiesTheRootsBuffer() throws Exception {
    final InProcessGroup group = new InProcessGroup(4);
    final List<double[]> results =
        onMembers(
            4,
            rank -> {
              final INDArray a = Nd4j.createFromArray(values(rank, 9, 3));
              group.member(rank).broadcast(a, 2);
              return a.toDoubleVector();
            });
    for (final double[] r : results) {
      assertArrayEquals(values(2, 9, 3), r, 0.0);
    }
  }

  @Test
  void mismatchedBuffersFailOnEveryMember() throws Exception {
    final InProcessGroup group = new InProcessGroup(3);
    final List<String> outcomes =
        onMembers(
            3,
            rank -> {
              try {
                group.member(rank).allReduceSum(Nd4j.zeros(DataType.DOUBLE, rank == 1 ? 4 : 5));
                return "ok";
              } catch (IllegalArgumentException e) {
                return e.getMessage();
              }
            });
    for (final String o : outcomes) {
      assertTrue(o.contains("member 1") && o.contains("length 4"), o);
    }
  }

  @Test
  void abortReleasesMembersWaitingForOneThatNeverComes() throws Exception {
    final InProcessGroup group = new InProcessGroup(3);
    final List<Future<?>> waiting = new ArrayList<>();
    for (int r = 0; r < 2; r++) {
      final int rank = r;
      waiting.add(pool.submit(() -> group.member(rank).allReduceSum(Nd4j.ones(3))));
    }
    Thread.sleep(100);
    group.abort(new IllegalStateException("tower 2 died"));
    for (final Future<?> f : waiting) {
      final ExecutionException e =
          assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
      assertTrue(e.getCause() instanceof CollectiveAbortedException, e.toString());
      assertEquals("tower 2 died", e.getCause().getCause().getMessage());
    }
    assertThrows(CollectiveAbortedException.class, () -> group.member(2).barrier());
  }

  /**
   * A tower that fails right after a collective it completed (the non-finite path does exactly
   * this) must not fail that collective on a peer that has not yet woken from its last barrier: the
   * peer finished it too, and would otherwise report a bogus "aborted" instead of its own outcome.
   * Repeated, because the window is a thread wake-up.
   */
  @Test
  void anAbortAfterACompletedCollectiveDoesNotFailItOnSlowerMembers() throws Exception {
    final int n = 3;
    for (int trial = 0; trial < 300; trial++) {
      final InProcessGroup group = new InProcessGroup(n);
      final List<Double> sums =
          onMembers(
              n,
              rank -> {
                final INDArray b = Nd4j.valueArrayOf(new long[] {4}, rank + 1.0, DataType.DOUBLE);
                group.member(rank).allReduceSum(b);
                if (rank == 0) {
                  group.abort(new IllegalStateException("tower 0 failed after the collective"));
                }
                return b.getDouble(3);
              });
      for (int r = 0; r < n; r++) {
        assertEquals(6.0, sums.get(r), "trial " + trial + ", member " + r);
      }
      assertThrows(CollectiveAbortedException.class, () -> group.member(1).barrier());
    }
  }

  /** As {@link #reference}, in float: every addition rounded to float, as ND4J adds floats. */
  private static float[] floatReference(final int n, final int length, final int salt) {
    final float[][] b = new float[n][];
    for (int r = 0; r < n; r++) {
      b[r] = floats(values(r, length, salt));
    }
    final float[] result = new float[length];
    for (int c = 0; c < n; c++) {
      for (long i = Chunks.start(length, n, c); i < Chunks.start(length, n, c + 1); i++) {
        float acc = b[c][(int) i];
        for (int k = 1; k < n; k++) {
          acc += b[(c + k) % n][(int) i];
        }
        result[(int) i] = acc;
      }
    }
    return result;
  }

  private static float[] floats(final double[] v) {
    final float[] f = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      f[i] = (float) v[i];
    }
    return f;
  }

  /**
   * Both paths, small (one barrier, summed in Java) and large (three barriers, summed by ND4J), in
   * float and double, on both sides of the threshold: the same bits as the reference order. In
   * float with 3 or more members a sum kept in double between additions would differ.
   */
  @ParameterizedTest(name = "{0} members, length {1}")
  @CsvSource({"3, 257", "4, 4096", "3, 8192", "3, 8193", "5, 20011"})
  void smallAndLargeAllReducesGiveTheReferenceBitsInFloatAndDouble(final int n, final int length)
      throws Exception {
    final InProcessGroup group = new InProcessGroup(n);
    final List<Object[]> results =
        onMembers(
            n,
            rank -> {
              final INDArray d = Nd4j.createFromArray(values(rank, length, 5));
              final INDArray f = Nd4j.createFromArray(floats(values(rank, length, 5)));
              group.member(rank).allReduceSum(d);
              group.member(rank).allReduceSum(f);
              return new Object[] {d.toDoubleVector(), f.toFloatVector()};
            });
    final double[] expected = reference(n, length, 5);
    final float[] expectedFloat = floatReference(n, length, 5);
    for (int r = 0; r < n; r++) {
      assertArrayEquals(expected, (double[]) results.get(r)[0], 0.0, "member " + r + ", double");
      assertArrayEquals(
          expectedFloat, (float[]) results.get(r)[1], 0.0f, "member " + r + ", float");
    }
  }

  /**
   * The one-barrier path lets a member start its next call while a slower member still reads the
   * last one's values: many calls in a row, small and large ones, broadcasts and barriers mixed,
   * new values every call and members delayed at random, must each give the reference result.
   */
  @Test
  void backToBackCallsWithRandomDelaysShouldNotMixTheirValues() throws Exception {
    final int n = 3;
    final int calls = 400;
    final InProcessGroup group = new InProcessGroup(n);
    final List<String> problems =
        onMembers(
            n,
            rank -> {
              final Random delays = new Random(rank);
              final Collective c = group.member(rank);
              for (int call = 0; call < calls; call++) {
                if (delays.nextInt(8) == 0) {
                  Thread.onSpinWait();
                  try {
                    Thread.sleep(0, delays.nextInt(200_000));
                  } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                  }
                }
                final int length = call % 7 == 6 ? 9000 : 1 + call % 50;
                final INDArray a = Nd4j.createFromArray(values(rank, length, call));
                if (call % 11 == 5) {
                  c.broadcast(a, call % n);
                  if (!java.util.Arrays.equals(
                      values(call % n, length, call), a.toDoubleVector())) {
                    return "call " + call + ": broadcast";
                  }
                } else if (call % 13 == 7) {
                  c.barrier();
                } else {
                  c.allReduceSum(a);
                  if (!java.util.Arrays.equals(reference(n, length, call), a.toDoubleVector())) {
                    return "call " + call + ": all-reduce of " + length;
                  }
                }
              }
              return "";
            });
    assertEquals(List.of("", "", ""), problems);
  }
}
