package io.synctower.common.checkpoint;

import java.util.List;

/**
 * A weight file that does not fit the model. Every problem is collected before anything is copied,
 * so one message lists them all and the model is left untouched.
 */
public final class WeightsMismatchException extends RuntimeException {
  private final List<String> missing;
  private final List<String> unexpected;
  private final List<String> misshaped;

  WeightsMismatchException(
      final String message,
      final List<String> missing,
      final List<String> unexpected,
      final List<String> misshaped) {
    super(message);
    this.missing = List.copyOf(missing);
    this.unexpected = List.copyOf(unexpected);
    this.misshaped = List.copyOf(misshaped);
  }

  /** Keys the model needs that the file lacks (empty for non-strict imports). */
  public List<String> missing() {
    return missing;
  }

  /** File keys that match no model tensor (empty for non-strict imports). */
  public List<String> unexpected() {
    return unexpected;
  }

  /** Keys present in both whose shape or dtype does not fit. */
  public List<String> misshaped() {
    return misshaped;
  }
}
