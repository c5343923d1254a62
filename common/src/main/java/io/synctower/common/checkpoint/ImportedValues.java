package io.synctower.common.checkpoint;

import io.synctower.common.bn.BatchNorm;
import io.synctower.common.data.DataException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Refuses imported values no model can use: a NaN or infinity anywhere (including a float64 value
 * beyond float32's range, which becomes infinite in a FLOAT model), and a negative BatchNorm
 * running variance (inference would take the square root of a negative number: loss NaN). Each
 * problem names the key, the first bad index (flat, C order in the file) and the value.
 */
final class ImportedValues {
  private ImportedValues() {}

  /**
   * Checks every array of {@code values} (file order, as read) for the model's {@code dtype}.
   *
   * @throws DataException naming {@code source}, each bad key with its first bad index and value,
   *     and the fix
   */
  static void check(
      final Map<TensorMapping, double[]> values, final DataType dtype, final String source) {
    final List<String> problems = new ArrayList<>();
    for (final Map.Entry<TensorMapping, double[]> e : values.entrySet()) {
      final TensorMapping m = e.getKey();
      final boolean variance =
          m.tensor().layer() instanceof BatchNorm && m.tensor().spec().name().equals("running_var");
      final double[] v = e.getValue();
      for (int i = 0; i < v.length; i++) {
        final double x = dtype == DataType.FLOAT ? (float) v[i] : v[i];
        if (!Double.isFinite(x)) {
          problems.add(
              m.fileKey()
                  + " index "
                  + i
                  + " is "
                  + v[i]
                  + (Double.isFinite(v[i]) ? " (infinite as float32)" : "")
                  + "; weights must be finite");
          break;
        }
        if (variance && x < 0) {
          problems.add(
              m.fileKey()
                  + " index "
                  + i
                  + " is "
                  + v[i]
                  + "; a BatchNorm running variance must be >= 0");
          break;
        }
      }
    }
    if (!problems.isEmpty()) {
      throw new DataException(
          source
              + ": "
              + problems.size()
              + " imported tensor"
              + (problems.size() == 1 ? " holds a value" : "s hold values")
              + " the model cannot use (the model is unchanged):\n  "
              + String.join("\n  ", problems)
              + "\nfix: re-export the weights from a healthy model, or leave these layers out"
              + " with --init-layers");
    }
  }
}
