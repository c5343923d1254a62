package io.synctower.worker.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aeron.Publication;
import io.synctower.common.comm.Chunks;
import io.synctower.common.comm.CollectiveAbortedException;
import io.synctower.common.comm.InProcessGroup;
import io.synctower.common.protocol.sbe.MessageHeaderEncoder;
import io.synctower.common.protocol.sbe.ReduceFrameEncoder;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.stream.Stream;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The Aeron collective against {@link InProcessGroup} as the oracle, bit for bit, over IPC and UDP
 * loopback with 2 and 3 members (threads of this JVM, one embedded driver).
 */
class AeronCollectiveTest {
  /** One buffer of a round: type, length, and whether it is a view into a larger array. */
  record Spec(DataType type, int length, boolean view) {}

  static Spec f(final int length) {
    return new Spec(DataType.FLOAT, length, false);
  }

  static Spec d(final int length) {
    return new Spec(DataType.DOUBLE, length, false);
  }

  static Spec fView(final int length) {
    return new Spec(DataType.FLOAT, length, true);
  }

  static Stream<Arguments> transportsAndSizes() {
    return Stream.of(
        Arguments.of(TransportKind.IPC, 2),
        Arguments.of(TransportKind.IPC, 3),
        Arguments.of(TransportKind.UDP, 2),
        Arguments.of(TransportKind.UDP, 3));
  }

  /** Mixed magnitudes, so another association of the sum gives other bits. */
  static INDArray[] inputs(final int rank, final List<Spec> round, final int salt) {
    final INDArray[] out = new INDArray[round.size()];
    for (int i = 0; i < out.length; i++) {
      final Spec s = round.get(i);
      final Random random = new Random(1_000_003L * salt + 31L * rank + i);
      final double[] v = new double[s.length()];
      for (int k = 0; k < v.length; k++) {
        v[k] = random.nextGaussian() * Math.pow(10, random.nextInt(10) - 5);
      }
      final INDArray values = Nd4j.createFromArray(v).castTo(s.type());
      if (s.view()) {
        final INDArray parent = Nd4j.zeros(s.type(), s.length() + 10L);
        out[i] = parent.get(NDArrayIndex.interval(3, 3 + s.length()));
        out[i].assign(values);
      } else {
        out[i] = values;
      }
    }
    return out;
  }

  /** The oracle: the same inputs through an InProcessGroup of the same size, in threads. */
  static List<INDArray[]> inProcess(final int n, final List<Spec> round, final int salt)
      throws Exception {
    final InProcessGroup group = new InProcessGroup(n);
    return onThreads(
        n,
        r -> {
          final INDArray[] in = inputs(r, round, salt);
          group.member(r).allReduceSum(in);
          return in;
        });
  }

  static <T> List<T> onThreads(final int n, final IntFunction<T> body) throws Exception {
    final ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      final List<Future<T>> futures = new ArrayList<>();
      for (int r = 0; r < n; r++) {
        final int rank = r;
        futures.add(pool.submit(() -> body.apply(rank)));
      }
      final List<T> out = new ArrayList<>();
      for (final Future<T> f : futures) {
        out.add(f.get(60, TimeUnit.SECONDS));
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  static void assertBitsEqual(final INDArray expected, final INDArray actual, final String what) {
    assertEquals(expected.dataType(), actual.dataType(), what);
    if (expected.dataType() == DataType.DOUBLE) {
      final long[] e =
          Arrays.stream(expected.toDoubleVector()).mapToLong(Double::doubleToRawLongBits).toArray();
      final long[] a =
          Arrays.stream(actual.toDoubleVector()).mapToLong(Double::doubleToRawLongBits).toArray();
      assertArrayEquals(e, a, what);
    } else {
      assertArrayEquals(floatBits(expected), floatBits(actual), what);
    }
  }

  static int[] floatBits(final INDArray a) {
    final float[] v = a.toFloatVector();
    final int[] bits = new int[v.length];
    for (int k = 0; k < v.length; k++) {
      bits[k] = Float.floatToRawIntBits(v[k]);
    }
    return bits;
  }

  static void assertRoundsEqual(
      final List<INDArray[]> expected, final List<INDArray[]> actual, final String what) {
    for (int r = 0; r < expected.size(); r++) {
      for (int i = 0; i < expected.get(r).length; i++) {
        assertBitsEqual(
            expected.get(r)[i], actual.get(r)[i], what + ", member " + r + ", buffer " + i);
      }
    }
  }

  // Small (direct exchange) and large (ring) rounds; lengths not multiples of the group size nor
  // of a message; some below the group size, so some chunks are empty; mixed types and a view.
  static final List<Spec> SMALL_ROUND = List.of(f(1), d(2), f(7), d(1000), fView(13));
  static final List<Spec> LARGE_ROUND =
      List.of(f(300_007), d(2), fView(100_003), d(123_457), f(1), f(70_001));

  @ParameterizedTest(name = "{0}, {1} members")
  @MethodSource("transportsAndSizes")
  void shouldEqualInProcessGroupBitForBitOnSmallAndLargeRounds(
      final TransportKind kind, final int n) throws Exception {
    assertTrue(bytes(SMALL_ROUND) <= AeronCollective.SMALL_ROUND_BYTES);
    assertTrue(bytes(LARGE_ROUND) > AeronCollective.SMALL_ROUND_BYTES);
    try (AeronGroup group = AeronGroup.start(kind, n)) {
      for (final List<Spec> round : List.of(SMALL_ROUND, LARGE_ROUND)) {
        final List<INDArray[]> actual =
            group.onMembers(
                m -> {
                  final INDArray[] in = inputs(m.rank(), round, 7);
                  m.allReduceSum(in);
                  return in;
                });
        assertRoundsEqual(inProcess(n, round, 7), actual, kind + " " + round);
      }
      for (final AeronCollective m : group.members) {
        assertEquals(0, m.rejectedFrames());
        assertEquals(0, m.foreignFrames());
      }
    }
  }

  /**
   * Gradient buckets over the network: one buffer reduced in ranges, last first, some above the
   * direct-exchange threshold (ring), some below (direct), one inside a single chunk, one empty,
   * equals one whole call bit for bit: each element keeps its chunk of the whole buffer.
   */
  @ParameterizedTest(name = "{0}, {1} members")
  @MethodSource("transportsAndSizes")
  void rangesShouldEqualOneWholeCallBitForBit(final TransportKind kind, final int n)
      throws Exception {
    final List<Spec> round = List.of(f(300_007));
    final long[] cuts = {300_007, 299_000, 299_000, 200_001, 100_003, 100_002, 5, 0};
    assertTrue((299_000 - 200_001) * 4L > AeronCollective.SMALL_ROUND_BYTES);
    try (AeronGroup group = AeronGroup.start(kind, n)) {
      final List<INDArray[]> actual =
          group.onMembers(
              m -> {
                final INDArray[] in = inputs(m.rank(), round, 9);
                for (int k = 1; k < cuts.length; k++) {
                  m.allReduceSumRange(in[0], cuts[k], cuts[k - 1]);
                }
                return in;
              });
      assertRoundsEqual(inProcess(n, round, 9), actual, kind + " ranges");
    }
  }

  static long bytes(final List<Spec> round) {
    return round.stream().mapToLong(s -> s.length() * (long) s.type().width()).sum();
  }

  /** Rounds of random sizes, back to back: fast members run into the next round early. */
  static List<List<Spec>> randomRounds(final int count) {
    final Random random = new Random(42);
    final int[] lengths = {1, 3, 2_000, 9_001, 40_000, 150_001};
    final List<List<Spec>> rounds = new ArrayList<>();
    for (int k = 0; k < count; k++) {
      final List<Spec> round = new ArrayList<>();
      final int buffers = 1 + random.nextInt(3);
      for (int b = 0; b < buffers; b++) {
        final int length = lengths[random.nextInt(lengths.length)];
        round.add(random.nextBoolean() ? f(length) : d(length));
      }
      rounds.add(round);
    }
    return rounds;
  }

  /**
   * Runs {@code rounds} back to back on every member (round k's inputs from seed {@code seed + k})
   * and checks each round's results against the in-process group's, bit for bit.
   */
  private static void assertRoundsAsInProcess(
      final AeronGroup group,
      final int n,
      final List<List<Spec>> rounds,
      final int seed,
      final String what)
      throws Exception {
    assertRoundsAsInProcess(group, n, rounds, seed, null, what);
  }

  /**
   * As above, member r first sleeping {@code sleepsMillis[r][k]} ms before round k ({@code null}:
   * no sleeps), so members run ahead by a round or fall behind.
   */
  static void assertRoundsAsInProcess(
      final AeronGroup group,
      final int n,
      final List<List<Spec>> rounds,
      final int seed,
      final long[][] sleepsMillis,
      final String what)
      throws Exception {
    final List<List<INDArray[]>> byMember =
        group.onMembers(
            m -> {
              final List<INDArray[]> out = new ArrayList<>();
              for (int k = 0; k < rounds.size(); k++) {
                final INDArray[] in = inputs(m.rank(), rounds.get(k), seed + k);
                if (sleepsMillis != null) {
                  sleep(sleepsMillis[m.rank()][k]);
                }
                m.allReduceSum(in);
                out.add(in);
              }
              return out;
            });
    for (int k = 0; k < rounds.size(); k++) {
      final int round = k;
      final List<INDArray[]> actual = byMember.stream().map(l -> l.get(round)).toList();
      assertRoundsEqual(inProcess(n, rounds.get(k), seed + k), actual, what + "round " + k);
    }
  }

  @ParameterizedTest(name = "{0}, {1} members")
  @MethodSource("transportsAndSizes")
  void shouldStayExactOverBackToBackRoundsOfVaryingSizes(final TransportKind kind, final int n)
      throws Exception {
    final List<List<Spec>> rounds = randomRounds(24);
    try (AeronGroup group = AeronGroup.start(kind, n)) {
      assertRoundsAsInProcess(group, n, rounds, 100, "");
      assertEquals(rounds.size(), group.members.get(0).round());
    }
  }

  @ParameterizedTest(name = "{0}, {1} members")
  @MethodSource("transportsAndSizes")
  void shouldBroadcastTheRootsBufferAndReleaseBarriersTogether(
      final TransportKind kind, final int n) throws Exception {
    try (AeronGroup group = AeronGroup.start(kind, n)) {
      final List<Spec> small = List.of(d(9));
      final List<Spec> large = List.of(fView(200_001));
      final List<INDArray[]> results =
          group.onMembers(
              m -> {
                final INDArray a = inputs(m.rank(), small, 3)[0];
                final INDArray b = inputs(m.rank(), large, 4)[0];
                m.broadcast(a, n - 1);
                m.barrier();
                m.broadcast(b, 0);
                m.barrier();
                return new INDArray[] {a, b};
              });
      for (int r = 0; r < n; r++) {
        assertBitsEqual(inputs(n - 1, small, 3)[0], results.get(r)[0], "small, member " + r);
        assertBitsEqual(inputs(0, large, 4)[0], results.get(r)[1], "large, member " + r);
      }
    }
  }

  /**
   * Allocation per call, measured call by call on the member's thread: a per-call or per-message
   * allocation would show in every call. A single call per run, at a random point, was seen to
   * allocate 0.6-17 KiB once (most likely the JIT deoptimizing and materializing objects it had
   * scalar-replaced; not traced), so the test bounds the number of calls that allocate at all.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(TransportKind.class)
  void steadyRoundsShouldAllocateNothingPerCall(final TransportKind kind) throws Exception {
    try (AeronGroup group = AeronGroup.start(kind, 2)) {
      final List<Integer> allocatingCalls =
          group.onMembers(
              m -> {
                final com.sun.management.ThreadMXBean threads =
                    (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
                final long thread = Thread.currentThread().getId();
                final INDArray[] ring = {
                  Nd4j.zeros(DataType.FLOAT, 100_000), Nd4j.zeros(DataType.DOUBLE, 1000)
                };
                final INDArray[] direct = {Nd4j.zeros(DataType.DOUBLE, 1000)};
                int allocating = 0;
                for (int i = 0; i < 1000; i++) {
                  for (int call = 0; call < 4; call++) {
                    final long before = threads.getThreadAllocatedBytes(thread);
                    switch (call) {
                      case 0 -> m.allReduceSum(ring);
                      case 1 -> m.allReduceSum(direct);
                      case 2 -> m.barrier();
                      default -> m.broadcast(direct[0], 1);
                    }
                    if (i >= 500 && threads.getThreadAllocatedBytes(thread) != before) {
                      allocating++;
                    }
                  }
                }
                return allocating;
              });
      for (final int calls : allocatingCalls) {
        assertTrue(calls <= 5, calls + " of 2000 calls allocated");
      }
    }
  }

  @Test
  void barrierShouldHoldEveryMemberUntilTheLastArrives() throws Exception {
    try (AeronGroup group = AeronGroup.start(TransportKind.IPC, 3)) {
      final long start = System.nanoTime();
      final List<Long> released =
          group.onMembers(
              m -> {
                if (m.rank() == 2) {
                  sleep(300);
                }
                m.barrier();
                return System.nanoTime() - start;
              });
      for (final long t : released) {
        assertTrue(t >= TimeUnit.MILLISECONDS.toNanos(300), "released after " + t + " ns");
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(TransportKind.class)
  void framesOfTheNextRoundShouldWaitInTheLogUntilTheirRound(final TransportKind kind)
      throws Exception {
    final int n = 3;
    final List<Spec> round = List.of(f(1000), d(77));
    try (AeronGroup group = AeronGroup.start(kind, n)) {
      // A broadcast root returns once its frames are in the logs, so the root runs rounds 1 and 2
      // before the others start: they find round 2's frames behind round 1's and must leave them
      // in the log until they get there. (The short sleep lets UDP's driver deliver both.)
      final CountDownLatch rootAhead = new CountDownLatch(1);
      final List<INDArray[]> actual =
          group.onMembers(
              m -> {
                final INDArray first = Nd4j.createFromArray(m.rank() == 0 ? 1.0 : 0.0);
                final INDArray second = Nd4j.createFromArray(m.rank() == 0 ? 2.0f : 0.0f);
                if (m.rank() != 0) {
                  await(rootAhead);
                  sleep(50);
                }
                m.broadcast(first, 0);
                m.broadcast(second, 0);
                if (m.rank() == 0) {
                  rootAhead.countDown();
                }
                assertEquals(1.0, first.getDouble(0));
                assertEquals(2.0f, second.getFloat(0));
                final INDArray[] in = inputs(m.rank(), round, 9);
                m.allReduceSum(in);
                return in;
              });
      assertRoundsEqual(inProcess(n, round, 9), actual, kind.toString());
      assertTrue(group.members.get(0).deferredFrames() == 0);
      assertTrue(
          group.members.get(1).deferredFrames() >= 1 && group.members.get(2).deferredFrames() >= 1,
          "deferred: "
              + group.members.get(1).deferredFrames()
              + ", "
              + group.members.get(2).deferredFrames());
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(TransportKind.class)
  void framesWithAnotherRunKeyShouldBeCountedAndNeverApplied(final TransportKind kind)
      throws Exception {
    final int n = 2;
    final List<Spec> round = List.of(d(64));
    try (AeronGroup group = AeronGroup.start(kind, n)) {
      // A stranger's frames on member 0's inbox that would fit round 1 exactly: the first two with
      // another run's key, the third with ours (but not from a member).
      final String channel =
          kind == TransportKind.IPC
              ? "aeron:ipc"
              : "aeron:udp?endpoint=" + group.channels.endpoint(0);
      try (Publication stranger =
          group.aeron.addPublication(channel, group.channels.streamId(0, 0))) {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!stranger.isConnected()) {
          assertTrue(System.nanoTime() < deadline, "stranger not connected");
          sleep(1);
        }
        offerPoison(stranger, group.runKey + 1);
        offerPoison(stranger, -group.runKey);
        offerPoison(stranger, group.runKey);
        int rounds = 0;
        while (true) {
          final int k = rounds;
          final List<INDArray[]> actual =
              group.onMembers(
                  m -> {
                    final INDArray[] in = inputs(m.rank(), round, 11 + k);
                    m.allReduceSum(in);
                    return in;
                  });
          assertRoundsEqual(inProcess(n, round, 11 + k), actual, "round " + k);
          final AeronCollective m0 = group.members.get(0);
          if ((m0.rejectedFrames() == 2 && m0.foreignFrames() == 1) || ++rounds > 200) {
            break;
          }
        }
        assertEquals(2, group.members.get(0).rejectedFrames());
        assertEquals(1, group.members.get(0).foreignFrames());
        assertEquals(0, group.members.get(1).rejectedFrames());
      }
    }
  }

  /** Round 1's direct-exchange frame for all 64 doubles of buffer 0, values 1e300. */
  private static void offerPoison(final Publication p, final long runKey) {
    final UnsafeBuffer b = new UnsafeBuffer(new byte[AeronCollective.FRAME_HEADER_LENGTH + 64 * 8]);
    new ReduceFrameEncoder()
        .wrapAndApplyHeader(b, 0, new MessageHeaderEncoder())
        .runKey(runKey)
        .round(1)
        .elementOffset(0)
        .count(64)
        .phase(AeronCollective.PHASE_DIRECT)
        .bufferIndex(0);
    for (int k = 0; k < 64; k++) {
      b.putDouble(AeronCollective.FRAME_HEADER_LENGTH + 8 * k, 1e300);
    }
    while (p.offer(b) < 0) {
      Thread.onSpinWait();
    }
  }

  @Test
  void abortFromAnotherThreadShouldReleaseMembersWaitingForOneThatNeverCalls() throws Exception {
    try (AeronGroup group = AeronGroup.start(TransportKind.IPC, 3)) {
      final List<Future<Object>> waiting = new ArrayList<>();
      for (int r = 0; r < 2; r++) {
        waiting.add(
            group.submit(
                r,
                m -> {
                  m.allReduceSum(Nd4j.ones(DataType.FLOAT, 500_000));
                  return "returned";
                }));
      }
      sleep(200);
      final long start = System.nanoTime();
      final IllegalStateException cause = new IllegalStateException("tower 2 died");
      group.members.get(0).abort(cause);
      group.members.get(1).abort(cause);
      for (final Future<Object> f : waiting) {
        final ExecutionException e =
            assertThrows(ExecutionException.class, () -> f.get(5, TimeUnit.SECONDS));
        assertInstanceOf(CollectiveAbortedException.class, e.getCause());
        assertEquals(cause, e.getCause().getCause());
      }
      assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(1), "released within 1 s");
      final AeronCollective m0 = group.members.get(0);
      assertTrue(m0.isAborted());
      assertThrows(CollectiveAbortedException.class, m0::barrier);
    }
  }

  @Test
  void aMemberThatNeverCallsShouldFailTheOthersAtTheStallTimeoutNamingIt() throws Exception {
    try (AeronGroup group =
        AeronGroup.start(TransportKind.IPC, 2, c -> c, Duration.ofMillis(300))) {
      final Future<Object> waiting =
          group.submit(
              0,
              m -> {
                m.allReduceSum(Nd4j.ones(DataType.DOUBLE, 10));
                return "returned";
              });
      final ExecutionException e =
          assertThrows(ExecutionException.class, () -> waiting.get(10, TimeUnit.SECONDS));
      assertInstanceOf(CollectiveAbortedException.class, e.getCause());
      assertTrue(e.getCause().getMessage().contains("rank 1"), e.getCause().getMessage());
    }
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(TransportKind.class)
  void shouldStayExactUnderBackPressureWithTheSmallestTerm(final TransportKind kind)
      throws Exception {
    final int n = 3;
    final List<Spec> round = List.of(f(400_003), d(150_001));
    try (AeronGroup group =
        AeronGroup.start(
            kind, n, c -> ring(c).withMtu(1408).withTermLength(64 << 10), Duration.ofSeconds(60))) {
      final List<INDArray[]> actual =
          group.onMembers(
              m -> {
                final INDArray[] in = inputs(m.rank(), round, 5);
                m.allReduceSum(in);
                return in;
              });
      assertRoundsEqual(inProcess(n, round, 5), actual, kind + " 64 KiB term");
      for (final AeronCollective m : group.members) {
        assertTrue(m.backPressureWaits() > 0, "no back pressure on rank " + m.rank());
      }
    }
  }

  /**
   * The ring forwards each message as soon as the same elements of the previous step arrived, so
   * steps overlap: with a tiny term and small MTU (many messages, constant back pressure), several
   * buffers of both types and back-to-back rounds, every member still equals InProcessGroup.
   */
  @ParameterizedTest(name = "{0} members")
  @ValueSource(ints = {2, 3, 4})
  void shouldStayExactWhenRingStepsOverlapUnderBackPressure(final int n) throws Exception {
    final List<List<Spec>> rounds =
        List.of(
            List.of(f(200_003), d(50_001), f(3)),
            List.of(d(120_007)),
            List.of(f(7), f(90_001), d(64_000)));
    try (AeronGroup group =
        AeronGroup.start(
            TransportKind.IPC,
            n,
            c -> ring(c).withMtu(4096).withTermLength(64 << 10),
            Duration.ofSeconds(60))) {
      assertRoundsAsInProcess(group, n, rounds, 60, n + " members, ");
      for (final AeronCollective m : group.members) {
        assertTrue(m.backPressureWaits() > 0, "no back pressure on rank " + m.rank());
      }
    }
  }

  /** The channels with the IPC shared-memory path off: every round over the Aeron log. */
  static DataChannels ring(final DataChannels c) {
    return c.withSharedMemory(DataChannels.SHARED_MEMORY_OFF, c.sharedPieceBytes());
  }

  @Test
  void membersWithDifferentLengthsShouldFailLoudlyInsteadOfMixingData() throws Exception {
    try (AeronGroup group = AeronGroup.start(TransportKind.IPC, 2, c -> c, Duration.ofSeconds(5))) {
      final List<String> outcomes = new ArrayList<>();
      for (final Future<String> f :
          List.of(
              group.submit(0, m -> tryReduce(m, Nd4j.ones(DataType.FLOAT, 100_000))),
              group.submit(1, m -> tryReduce(m, Nd4j.ones(DataType.FLOAT, 100_001))))) {
        outcomes.add(f.get(20, TimeUnit.SECONDS));
      }
      // The member that sees the mismatch throws it; it tells the other, which fails at once too.
      assertTrue(
          outcomes.stream().anyMatch(o -> o.startsWith("IllegalArgumentException")),
          outcomes.toString());
      for (final String o : outcomes) {
        assertTrue(o.contains("disagree"), o);
      }
    }
  }

  @Test
  void membersWithDifferentTypesShouldFailLoudlyInsteadOfMixingData() throws Exception {
    try (AeronGroup group = AeronGroup.start(TransportKind.IPC, 2, c -> c, Duration.ofSeconds(5))) {
      final Future<String> a = group.submit(0, m -> tryReduce(m, Nd4j.ones(DataType.FLOAT, 7)));
      final Future<String> b = group.submit(1, m -> tryReduce(m, Nd4j.ones(DataType.DOUBLE, 7)));
      for (final String o : List.of(a.get(20, TimeUnit.SECONDS), b.get(20, TimeUnit.SECONDS))) {
        assertTrue(o.startsWith("IllegalArgumentException") && o.contains("data type"), o);
      }
    }
  }

  private static String tryReduce(final AeronCollective m, final INDArray buffer) {
    try {
      m.allReduceSum(buffer);
      return "ok";
    } catch (RuntimeException e) {
      return e.getClass().getSimpleName() + ": " + e.getMessage();
    }
  }

  @Test
  void buffersItCannotReduceShouldBeRejectedBeforeAnythingIsSent() throws Exception {
    try (AeronGroup group = AeronGroup.start(TransportKind.IPC, 2)) {
      final AeronCollective m = group.members.get(0);
      final IllegalArgumentException intType =
          assertThrows(
              IllegalArgumentException.class,
              () -> m.allReduceSum(Nd4j.ones(DataType.FLOAT, 3), Nd4j.ones(DataType.INT32, 4)));
      assertTrue(
          intType.getMessage().contains("buffer 1: INT")
              && intType.getMessage().contains("length 4"),
          intType.getMessage());
      final IllegalArgumentException matrix =
          assertThrows(IllegalArgumentException.class, () -> m.allReduceSum(Nd4j.ones(2, 3)));
      assertTrue(
          matrix.getMessage().contains("buffer 0") && matrix.getMessage().contains("rank 2"),
          matrix.getMessage());
      final INDArray column = Nd4j.ones(DataType.FLOAT, 4, 4).getColumn(1);
      final IllegalArgumentException strided =
          assertThrows(IllegalArgumentException.class, () -> m.allReduceSum(column));
      assertTrue(strided.getMessage().contains("stride 4"), strided.getMessage());
      assertEquals(0, m.round());
      assertFalse(m.isAborted());
    }
  }

  @Test
  void connectShouldNameThePeerThatNeverShowedUp() throws Exception {
    try (AeronGroup group = AeronGroup.start(TransportKind.IPC, 1)) {
      final DataChannels three = DataChannels.tuned(TransportKind.IPC, List.of("a", "b", "c"));
      try (AeronCollective lonely =
          new AeronCollective(
              group.aeron, three, 7, 0, 1L, null, Duration.ofMillis(200), Duration.ofSeconds(1))) {
        final IllegalStateException e = assertThrows(IllegalStateException.class, lonely::connect);
        assertTrue(e.getMessage().contains("rank 1 (ipc)"), e.getMessage());
      }
    }
  }

  @Test
  void closingTheGroupShouldLeaveNoDriverDirectoryOrThreadBehind() throws Exception {
    final AeronGroup group = AeronGroup.start(TransportKind.UDP, 2);
    group.onMembers(
        m -> {
          m.barrier();
          return null;
        });
    assertTrue(group.driverDirExists());
    assertFalse(group.liveThreads().isEmpty());
    group.close();
    assertFalse(group.driverDirExists());
    assertEquals(List.of(), group.liveThreads());
    assertThrows(CollectiveAbortedException.class, () -> group.members.get(0).barrier());
  }

  /**
   * Negative control: with three members another association changes bits, so the tests can fail.
   */
  @Test
  void anotherSummationOrderShouldGiveOtherBits() {
    final int n = 3;
    final List<Spec> round = List.of(f(10_000));
    final float[][] b = new float[n][];
    for (int r = 0; r < n; r++) {
      b[r] = inputs(r, round, 1)[0].toFloatVector();
    }
    int differ = 0;
    for (int c = 0; c < n; c++) {
      for (long i = Chunks.start(10_000, n, c); i < Chunks.start(10_000, n, c + 1); i++) {
        final int k = (int) i;
        final float ring = (b[c][k] + b[(c + 1) % n][k]) + b[(c + 2) % n][k];
        final float plain = (b[0][k] + b[1][k]) + b[2][k];
        if (Float.floatToRawIntBits(ring) != Float.floatToRawIntBits(plain)) {
          differ++;
        }
      }
    }
    assertTrue(differ > 100, differ + " of 10000 differ");
  }

  private static void await(final CountDownLatch latch) {
    try {
      assertTrue(latch.await(20, TimeUnit.SECONDS), "latch");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Sleeps on a member's thread, where no checked exception may go. */
  static void sleep(final long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
