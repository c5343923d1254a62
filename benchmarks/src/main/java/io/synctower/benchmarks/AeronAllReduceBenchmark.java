package io.synctower.benchmarks;

import io.synctower.common.backend.NativeVariant;
import io.synctower.worker.remote.AeronConnection;
import io.synctower.worker.transport.AeronCollective;
import io.synctower.worker.transport.DataChannels;
import io.synctower.worker.transport.TransportKind;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.agrona.CloseHelper;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The Aeron all-reduce ({@link AeronCollective}: ring reduce-scatter + all-gather, a direct
 * exchange below {@link AeronCollective#SMALL_ROUND_BYTES}) between {@value #MEMBERS} members that
 * are threads of this JVM, through one embedded media driver, with the channels and idle strategies
 * training uses. It isolates the transport from process scheduling; {@code synctower bench
 * allreduce}, which {@code bin/benchmarks} also runs, measures the same collective between
 * processes ({@code AllReduceBenchmark}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 2,
    jvmArgsAppend = {Jvm.ADD_EXPORTS, Jvm.HEAP, Jvm.QUIET_LOGS})
public class AeronAllReduceBenchmark {
  /** Members of the group. */
  public static final int MEMBERS = 2;

  /** Bytes per member and call. */
  @Param({"4096", "262144", "1048576", "16777216", "67108864"})
  public long bytes;

  /** {@code ipc} (shared memory, one host) or {@code udp} (loopback, as between hosts). */
  @Param({"ipc"})
  public String transport;

  private AeronConnection connection;
  private final List<AeronCollective> members = new ArrayList<>();
  private Lockstep lockstep;

  @Setup
  public void setUp() {
    NativeVariant.select();
    final TransportKind kind;
    try {
      kind = TransportKind.valueOf(transport.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "transport '" + transport + "': expected ipc or udp (-p transport=udp)", e);
    }
    connection = AeronConnection.open("jmh", null);
    final DataChannels channels = DataChannels.tuned(kind, endpoints(kind));
    final INDArray[] buffers = new INDArray[MEMBERS];
    for (int r = 0; r < MEMBERS; r++) {
      members.add(
          new AeronCollective(
              connection.aeron(),
              channels,
              0,
              r,
              0x5EED_BE7CL,
              null,
              Duration.ofSeconds(30),
              AeronCollective.DEFAULT_STALL_TIMEOUT));
      buffers[r] = Nd4j.zeros(DataType.FLOAT, Sizes.floats(bytes));
    }
    // The first call of each member also connects it to the other (AeronCollective#connect).
    lockstep =
        new Lockstep(
            MEMBERS,
            rank -> members.get(rank).allReduceSum(buffers[rank]),
            cause -> members.forEach(m -> m.abort(cause)));
  }

  @TearDown
  public void tearDown() throws InterruptedException {
    lockstep.close();
    CloseHelper.closeAll(members);
    CloseHelper.close(connection);
  }

  @Benchmark
  public void allReduce() throws Exception {
    lockstep.run();
  }

  private static List<String> endpoints(final TransportKind kind) {
    final List<String> out = new ArrayList<>();
    for (int r = 0; r < MEMBERS; r++) {
      if (kind == TransportKind.IPC) {
        out.add("ipc");
        continue;
      }
      // A free loopback port each; the short race with other programs is acceptable here.
      try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
        out.add("127.0.0.1:" + s.getLocalPort());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return out;
  }
}
