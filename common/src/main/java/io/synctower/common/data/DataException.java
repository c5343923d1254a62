package io.synctower.common.data;

/**
 * Bad or unreadable input data. The message always names the source (file or dataset), the position
 * (index, offset) and what was expected instead, so the user can fix the data.
 */
public class DataException extends RuntimeException {
  public DataException(final String message) {
    super(message);
  }

  public DataException(final String message, final Throwable cause) {
    super(message, cause);
  }
}
