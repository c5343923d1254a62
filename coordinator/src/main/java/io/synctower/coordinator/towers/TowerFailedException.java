package io.synctower.coordinator.towers;

/** A tower failed during a command; every tower's collectives were aborted. */
public final class TowerFailedException extends RuntimeException {
  public TowerFailedException(final String message) {
    super(message);
  }
}
