package io.synctower.common.nn;

import java.util.HashMap;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * Buffers preallocated per batch size. Training runs one batch size (two with an uneven last
 * shard), evaluation may add one for its final partial batch, so a layer holds a handful of buffer
 * sets and the steady state allocates no new buffers.
 */
public final class PerBatchSize<T> {
  private final Map<Integer, T> bySize = new HashMap<>();
  private final IntFunction<T> factory;

  public PerBatchSize(final IntFunction<T> factory) {
    this.factory = factory;
  }

  /** The buffers for batch size {@code n}, created on first use. */
  public T get(final int n) {
    T t = bySize.get(n);
    if (t == null) {
      t = factory.apply(n);
      bySize.put(n, t);
    }
    return t;
  }
}
