package io.synctower.common.comm;

/**
 * A collective could not complete because its group was aborted: a member failed or the coordinator
 * stopped the step. Every member waiting in, or later entering, a collective of that group gets
 * this exception instead of hanging.
 */
public final class CollectiveAbortedException extends RuntimeException {
  public CollectiveAbortedException(final String message, final Throwable cause) {
    super(message, cause);
  }
}
