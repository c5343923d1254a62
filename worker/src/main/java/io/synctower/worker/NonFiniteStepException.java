package io.synctower.worker;

/**
 * A training step produced NaN or Inf and the run's policy is to stop ({@code failure.onNonFinite:
 * stop}). Nothing of the step was applied on any tower.
 */
public final class NonFiniteStepException extends RuntimeException {
  private final boolean elsewhere;

  NonFiniteStepException(final String message, final boolean elsewhere) {
    super(message);
    this.elsewhere = elsewhere;
  }

  /** True on a tower whose own values were finite: it stopped because another tower's were not. */
  public boolean elsewhere() {
    return elsewhere;
  }
}
