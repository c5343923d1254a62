package io.synctower.common.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.concurrency.AffinityManager;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class HostMemoryTest {
  enum Dtype {
    FLOAT(DataType.FLOAT),
    DOUBLE(DataType.DOUBLE);

    final DataType type;

    Dtype(final DataType type) {
      this.type = type;
    }
  }

  @ParameterizedTest
  @EnumSource(Dtype.class)
  void writesShouldBeSeenByTheNextNd4jOp(final Dtype d) {
    final INDArray a = Nd4j.zeros(d.type, 2, 3);
    HostMemory.write(a, new double[] {1, 2, 3, 4, 5, 6}, HostMemoryTest::putAll);
    // An ND4J op after the host write: on a device backend it runs on the device copy.
    final INDArray doubled = a.mul(2);
    assertArrayEquals(
        new double[] {2, 4, 6, 8, 10, 12}, doubled.castTo(DataType.DOUBLE).data().asDouble());
    assertEquals(21.0, a.sumNumber().doubleValue());
  }

  @ParameterizedTest
  @EnumSource(Dtype.class)
  void aStridedViewWriteShouldChangeOnlyItsElements(final Dtype d) {
    final INDArray m = Nd4j.ones(d.type, 3, 3);
    final INDArray column = m.getColumn(1);
    HostMemory.write(column, null, HostMemoryTest::putSevensStrided);
    assertArrayEquals(
        new double[] {1, 7, 1, 1, 7, 1, 1, 7, 1},
        m.castTo(DataType.DOUBLE).reshape(9).toDoubleVector());
  }

  @ParameterizedTest
  @EnumSource(Dtype.class)
  void readsShouldSeeTheLastNd4jOp(final Dtype d) {
    final INDArray a = Nd4j.zeros(d.type, 4);
    a.addi(3); // an ND4J op: on a device backend its result is on the device
    final ByteBuffer bytes = HostMemory.read(a);
    final int width = d.type.width();
    for (int i = 0; i < 4; i++) {
      assertEquals(3.0, d == Dtype.DOUBLE ? bytes.getDouble(i * width) : bytes.getFloat(i * 4));
    }
  }

  @Test
  void readViewsShouldRefuseWrites() {
    final ByteBuffer bytes = HostMemory.read(Nd4j.zeros(DataType.FLOAT, 4));
    assertThrows(ReadOnlyBufferException.class, () -> bytes.putFloat(0, 1f));
  }

  @Test
  void aWriteShouldSyncTheHostCopyFirstAndTagItAfterwards() {
    final List<String> calls = new ArrayList<>();
    final INDArray a = Nd4j.zeros(DataType.FLOAT, 4);
    final HostMemory.Bound bound = HostMemory.bind(a, recording(calls));
    bound.write(calls, (bytes, target, log) -> log.add("write"));
    assertEquals(List.of("ensureLocation HOST", "write", "tagLocation HOST"), calls);
  }

  @Test
  void aWriteThatThrowsShouldStillTagTheHostCopy() {
    final List<String> calls = new ArrayList<>();
    final HostMemory.Bound bound = HostMemory.bind(Nd4j.zeros(DataType.FLOAT, 4), recording(calls));
    assertThrows(
        IllegalStateException.class,
        () ->
            bound.write(
                calls,
                (bytes, target, log) -> {
                  bytes.putFloat(0, 1f);
                  throw new IllegalStateException("half written");
                }));
    assertEquals(List.of("ensureLocation HOST", "tagLocation HOST"), calls);
  }

  @Test
  void aReadShouldSyncTheHostCopyAndNotTagIt() {
    final List<String> calls = new ArrayList<>();
    HostMemory.bind(Nd4j.zeros(DataType.FLOAT, 4), recording(calls)).read();
    assertEquals(List.of("ensureLocation HOST"), calls);
  }

  @Test
  void theAddressShouldPointAtTheFirstElementOfAView() {
    final INDArray m = Nd4j.zeros(DataType.DOUBLE, 4, 5);
    final INDArray row2 = m.getRow(2);
    assertEquals(2 * 5 * 8, HostMemory.address(row2) - HostMemory.address(m));
  }

  @Test
  void aBoundWriteShouldAllocateNothingPerCall() {
    final com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    final long thread = Thread.currentThread().getId();
    final HostMemory.Bound bound = HostMemory.bind(Nd4j.zeros(DataType.FLOAT, 64));
    final double[] values = new double[64];
    final HostMemory.Writer<double[]> writer = HostMemoryTest::putAll;
    int allocating = 0;
    for (int i = 0; i < 2000; i++) {
      final long before = threads.getThreadAllocatedBytes(thread);
      bound.write(values, writer);
      if (i >= 1000 && threads.getThreadAllocatedBytes(thread) != before) {
        allocating++;
      }
    }
    assertTrue(allocating <= 5, allocating + " of 1000 writes allocated");
  }

  private static void putAll(final ByteBuffer bytes, final INDArray a, final double[] values) {
    for (int i = 0; i < values.length; i++) {
      if (a.dataType() == DataType.DOUBLE) {
        bytes.putDouble(i * 8, values[i]);
      } else {
        bytes.putFloat(i * 4, (float) values[i]);
      }
    }
  }

  private static void putSevensStrided(final ByteBuffer bytes, final INDArray v, final Void none) {
    final int width = v.dataType().width();
    for (int i = 0; i < v.length(); i++) {
      final int at = (int) ((v.offset() + i * v.stride(0)) * width);
      if (width == 8) {
        bytes.putDouble(at, 7);
      } else {
        bytes.putFloat(at, 7);
      }
    }
  }

  /** An affinity manager that logs the location calls (the CPU backend's are empty methods). */
  private static AffinityManager recording(final List<String> calls) {
    return (AffinityManager)
        Proxy.newProxyInstance(
            AffinityManager.class.getClassLoader(),
            new Class<?>[] {AffinityManager.class},
            (proxy, method, args) -> {
              if (method.getName().endsWith("Location") && args != null && args.length == 2) {
                calls.add(method.getName() + " " + args[1]);
              }
              return null;
            });
  }
}
