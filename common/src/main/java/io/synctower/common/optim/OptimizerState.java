package io.synctower.common.optim;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * An optimizer's state: named flat buffers parallel to the parameters (views owned by the
 * optimizer; writing into them restores state) and the number of updates applied so far.
 */
public interface OptimizerState {
  /** Buffer names in a fixed order, e.g. {@code ["m", "v"]} for Adam; empty for plain SGD. */
  List<String> names();

  /** The buffers, in the order of {@link #names()}; views, not copies. */
  List<INDArray> buffers();

  /** Number of {@code step} calls applied so far. */
  long updates();

  /** Restores the update counter (checkpoint load). */
  void setUpdates(long updates);
}
