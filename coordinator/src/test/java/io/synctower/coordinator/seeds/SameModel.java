package io.synctower.coordinator.seeds;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.synctower.common.nn.Model;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Compares two replicas tensor by tensor: parameters and BN moving statistics. */
final class SameModel {
  private SameModel() {}

  /**
   * Every tensor of {@code actual} equals {@code expected}'s to {@code relative} times the largest
   * magnitude in that tensor (so a tensor of tiny values is not compared to an absolute 1e-10).
   */
  static void assertClose(final Model expected, final Model actual, final double relative) {
    for (final Model.Tensor t : expected.tensors()) {
      final double[] a = values(t.value());
      final double[] b = values(actual.tensor(t.key()));
      double scale = 0;
      double diff = 0;
      for (int i = 0; i < a.length; i++) {
        scale = Math.max(scale, Math.abs(a[i]));
        diff = Math.max(diff, Math.abs(a[i] - b[i]));
      }
      final String message = t.key() + ": max difference " + diff + " (largest " + scale + ")";
      assertTrue(diff <= relative * scale, message);
    }
  }

  /** The elements of {@code array} in C order, as doubles (a copy; any shape). */
  static double[] values(final INDArray array) {
    return array.dup('c').reshape(array.length()).toDoubleVector();
  }
}
