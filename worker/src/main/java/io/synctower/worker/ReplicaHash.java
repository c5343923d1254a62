package io.synctower.worker;

import io.synctower.common.backend.HostMemory;
import io.synctower.common.nn.Model;
import io.synctower.common.optim.OptimizerState;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A fingerprint of everything that must be identical on every replica after a step: parameters, BN
 * moving statistics and optimizer state (buffers and update count). Replicas that agree bit for bit
 * have equal hashes; the coordinator compares them every {@code replicaCheckEvery} steps.
 *
 * <p>Reads the buffers in place (CRC32C over the native memory, no copy); call from the tower's
 * thread between steps.
 */
public final class ReplicaHash {
  private ReplicaHash() {}

  public static long of(final Model model, final OptimizerState optimizer) {
    final CRC32C crc = new CRC32C();
    update(crc, model.parameters());
    update(crc, model.state());
    for (final INDArray b : optimizer.buffers()) {
      update(crc, b);
    }
    final long updates = optimizer.updates();
    for (int i = 0; i < Long.BYTES; i++) {
      crc.update((int) (updates >>> (8 * i)));
    }
    return crc.getValue();
  }

  private static void update(final CRC32C crc, final INDArray a) {
    if (a == null || a.length() == 0) {
      return;
    }
    final int width = a.dataType().width();
    final ByteBuffer bytes = HostMemory.read(a).duplicate();
    final long from = a.offset() * width;
    bytes.limit(Math.toIntExact(from + a.length() * width));
    bytes.position(Math.toIntExact(from));
    crc.update(bytes);
  }
}
