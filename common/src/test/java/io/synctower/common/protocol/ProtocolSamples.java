package io.synctower.common.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.synctower.common.metrics.MetricSums;
import io.synctower.common.metrics.PhaseTimes;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** Messages of every type with awkward values, and a comparison that sees inside arrays. */
final class ProtocolSamples {
  static final byte[] SECRET =
      HexFormat.of().parseHex("8f1d2c3b4a596877869504a3b2c1d0e0f1e2d3c4b5a69788796a5b4c3d2e1f00");
  static final long RUN = 0x5EED_CAFE_1234L;

  private ProtocolSamples() {}

  static byte[] bytes(final int first) {
    final byte[] b = new byte[32];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) (first + 37 * i);
    }
    return b;
  }

  /** Every message type at least once; none longer than a few hundred bytes. */
  static List<Message> small() {
    return List.of(
        new Join.Request(
            3, 8, 12_345L, 1, "höst-ñ.example", "10.0.0.3:40123", "aeron:udp?endpoint=h:40124"),
        new Join.Request(0, 1, Long.MAX_VALUE, Integer.MIN_VALUE, "", "", ""),
        new Join.Request(-7, -1, -1L, -1, "主機-𝄞", "🛰️:1", "\u0000nul"),
        new Join.Challenge(RUN, 5, bytes(0), 12_345L),
        new Join.Challenge(-1L, Integer.MAX_VALUE, bytes(0xFF), Long.MIN_VALUE),
        new Join.Proof(RUN, 5, bytes(0x42)),
        new Join.Welcome(
            RUN,
            2,
            4,
            12_345L,
            List.of("aeron:udp?endpoint=a:1", "", "ℌ𝔬𝔰𝔱:2", "d:4"),
            "model: resnet\nlr: 0.1 # λ\n"),
        new Join.Welcome(RUN, 0, 1, -1L, List.of(), ""),
        new Join.Refused(RUN, 0, 4242L, "rank 0 is taken by tower 0 (höst, pid 7) ✓"),
        new Join.Refused(-1L, Integer.MIN_VALUE, Long.MAX_VALUE, ""),
        new Command.TrainStep(RUN, 3, 17, 1_000_000_000_000L, 0.0125, true),
        new Command.TrainStep(RUN, -1, 0, Long.MIN_VALUE, Double.NaN, false),
        new Command.TrainStep(RUN, 0, 0, 0, -0.0, false),
        new Command.Evaluate(RUN, Command.DatasetRole.TRAIN),
        new Command.Evaluate(RUN, Command.DatasetRole.VALIDATION),
        new Command.Shutdown(RUN),
        new Command.Abort(RUN, 42, 3, "tower 3 lost: ⚠ no heartbeat for 10 s"),
        new Command.Abort(RUN, -1, -1, ""),
        new Command.ExportWeights(RUN, 1000, "/tmp/ckpt/步骤-1000.npz"),
        new Command.ExportWeights(RUN, 0, ""),
        new Command.Checkpoint(
            RUN,
            2000,
            "/data/runs/ré-run/checkpoints",
            3,
            true,
            "epoch: 4\nbatchInEpoch: 17\nnote: \"λ ✓ 𝄞\"\n"),
        new Command.Checkpoint(RUN, -1, "", Integer.MIN_VALUE, false, ""),
        new Command.Checkpoint(RUN, Long.MAX_VALUE, "ckpt", Integer.MAX_VALUE, false, "a: 1\n"),
        new Command.Restore(RUN, "/data/runs/ré-run/checkpoints/步骤-000002000"),
        new Command.Restore(RUN, ""),
        new Heartbeat(RUN, Join.COORDINATOR, 1_700_000_000_000L),
        new Heartbeat(RUN, 7, Long.MIN_VALUE),
        new Report.StepDone(
            RUN,
            1,
            99,
            new MetricSums(Double.NaN, -1, 0, 0),
            new PhaseTimes(1, 2, 3, 6, 4, 5),
            0x8000_0000_0000_0001L,
            true,
            "gradient of layer 3 (conv2d 'conv2')"),
        new Report.StepDone(
            RUN,
            0,
            1,
            new MetricSums(-123.456e-300, 7, 3, 32),
            new PhaseTimes(0, 0, 0, Long.MAX_VALUE, 0, 0),
            0,
            false,
            ""),
        new Report.StepDone(
            RUN,
            2,
            5,
            new MetricSums(Double.POSITIVE_INFINITY, 0, 0, 1),
            new PhaseTimes(0, 0, 0, -1, 0, 0),
            0,
            true,
            "loss ∞ 𝛿"),
        new Report.StepDone(
            RUN, 3, 5, new MetricSums(1.5, 0, 0, 1), new PhaseTimes(0, 0, 0, 0, 0, 0), 0, true, ""),
        new Report.EvaluationDone(RUN, 2, new MetricSums(-0.0, Long.MAX_VALUE, 0, 10_000)),
        new Report.EvaluationDone(RUN, 3, new MetricSums(Double.NEGATIVE_INFINITY, -1, -2, -3)),
        new Report.Failed(
            RUN,
            2,
            99,
            "java.lang.OutOfMemoryError: … 💥\n\tat x.y(Z.java:1)",
            Report.Cause.CRASHED),
        new Report.Failed(RUN, 0, 0, "", Report.Cause.ABORTED),
        new Report.Failed(RUN, 3, -1, "no heartbeat for 10 s", Report.Cause.LOST),
        new Report.Failed(RUN, 1, Long.MAX_VALUE, "step deadline ⏱ 30 s", Report.Cause.STALLED),
        new Report.Failed(
            RUN, 0, 7, "gradient of layer 3 (conv2d 'conv2')", Report.Cause.NON_FINITE),
        new Report.Failed(RUN, 5, 8, "train/shard-0003.bin: truncated record", Report.Cause.DATA),
        new Report.Failed(RUN, 0, Long.MIN_VALUE, "", Report.Cause.CHECKPOINT),
        new Report.CheckpointDone(RUN, 0, 1000, "/tmp/ckpt/步骤-1000.npz"),
        new Command.RunPreciseBn(RUN, 50, 7),
        new Command.RunPreciseBn(RUN, Integer.MIN_VALUE, Long.MIN_VALUE),
        new Report.PreciseBnDone(
            RUN,
            2,
            50,
            1_600L,
            0x8000_0000_0000_0001L,
            List.of(
                new Report.Movement(0.25, 1.5),
                new Report.Movement(0, 1),
                new Report.Movement(Double.NaN, Double.POSITIVE_INFINITY))),
        new Report.PreciseBnDone(RUN, 0, 1, 0, 0, List.of()));
  }

  /** HMAC-SHA256 with the JDK directly, not through the codec: the oracle for the tag. */
  static byte[] hmac(final byte[] key, final byte[] data, final int length) {
    try {
      final Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      mac.update(data, 0, length);
      return mac.doFinal();
    } catch (final Exception e) {
      throw new AssertionError(e);
    }
  }

  /** Whether a message type travels with an HMAC tag. */
  static boolean authenticated(final Message m) {
    return !(m instanceof Join.Request || m instanceof Join.Challenge || m instanceof Join.Proof);
  }

  /** Every concrete record of the sealed {@link Message} hierarchy. */
  static Set<String> allMessageTypes() {
    final Set<String> out = new TreeSet<>();
    final List<Class<?>> todo = new ArrayList<>(List.of(Message.class));
    while (!todo.isEmpty()) {
      final Class<?> c = todo.remove(todo.size() - 1);
      if (c.isRecord()) {
        out.add(c.getName());
      } else {
        todo.addAll(List.of(c.getPermittedSubclasses()));
      }
    }
    return out;
  }

  /**
   * Asserts two messages are equal component by component: arrays by content, doubles by their raw
   * bits (so NaN payloads and -0.0 count), the rest by equals.
   */
  static void assertSameMessage(final Message expected, final Message actual) {
    assertSameRecord((Record) expected, actual, expected.getClass().getSimpleName());
  }

  /** Component by component, into nested records (the metric sums and phase times of a report). */
  private static void assertSameRecord(
      final Record expected, final Object actual, final String at) {
    assertEquals(expected.getClass(), actual.getClass(), at + ": type");
    for (final RecordComponent c : expected.getClass().getRecordComponents()) {
      final Object e = value(c, expected);
      final Object a = value(c, actual);
      final String what = at + "." + c.getName();
      if (e instanceof Record er) {
        assertSameRecord(er, a, what);
      } else if (e instanceof byte[] eb) {
        assertArrayEquals(eb, (byte[]) a, what);
      } else if (e instanceof Double ed) {
        assertEquals(Double.doubleToRawLongBits(ed), Double.doubleToRawLongBits((Double) a), what);
      } else {
        assertEquals(e, a, what);
      }
    }
  }

  private static Object value(final RecordComponent c, final Object record) {
    try {
      return c.getAccessor().invoke(record);
    } catch (final IllegalAccessException | InvocationTargetException e) {
      throw new AssertionError(e);
    }
  }
}
