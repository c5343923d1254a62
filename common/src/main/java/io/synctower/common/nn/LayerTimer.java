package io.synctower.common.nn;

/**
 * Receives the wall time of each layer's forward and backward call, from {@link Model}'s loops when
 * a timer is set ({@link Model#timeLayers}); {@code bench step --profile} uses it. Called on the
 * step's thread, between two layers, so an implementation must be cheap and must not touch the
 * model.
 */
public interface LayerTimer {
  /** Layer {@code layer} (index into {@link Model#layers()}) took {@code nanos} in forward. */
  void forwardDone(int layer, long nanos);

  /** Layer {@code layer} took {@code nanos} in backward. */
  void backwardDone(int layer, long nanos);
}
