package io.synctower.common.protocol;

import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import javax.crypto.Mac;
import javax.crypto.ShortBufferException;
import javax.crypto.spec.SecretKeySpec;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * The HMAC-SHA256 tag of a control frame under the run's secret: written after the header and
 * message, checked in constant time before any byte of the message is read. Not thread-safe: owns
 * its {@link Mac} and scratch arrays, so a tag costs no allocation.
 */
final class FrameTag {
  /** Bytes of the tag. */
  static final int LENGTH = 32;

  private static final String HMAC = "HmacSHA256";

  private final Mac mac;
  private final byte[] chunk = new byte[4096];
  private final byte[] computed = new byte[LENGTH];
  private final byte[] received = new byte[LENGTH];

  /**
   * @param secret checked by the caller; copied
   */
  FrameTag(final byte[] secret) {
    try {
      mac = Mac.getInstance(HMAC);
      mac.init(new SecretKeySpec(secret.clone(), HMAC));
    } catch (final NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("this JVM has no usable " + HMAC, e);
    }
  }

  /** Writes the tag of {@code [index, index + length)} at {@code index + length}. */
  void append(final MutableDirectBuffer buffer, final int index, final int length) {
    compute(buffer, index, length);
    buffer.putBytes(index + length, computed);
  }

  /** Whether the tag at {@code index + length} is the one of {@code [index, index + length)}. */
  boolean matches(final DirectBuffer buffer, final int index, final int length) {
    compute(buffer, index, length);
    buffer.getBytes(index + length, received, 0, LENGTH);
    return MessageDigest.isEqual(computed, received);
  }

  /** HMAC-SHA256 of {@code [index, index + length)} into {@link #computed}, via a reused chunk. */
  private void compute(final DirectBuffer buffer, final int index, final int length) {
    mac.reset(); // nothing left over from a call that failed half-way
    for (int done = 0; done < length; ) {
      final int n = Math.min(chunk.length, length - done);
      buffer.getBytes(index + done, chunk, 0, n);
      mac.update(chunk, 0, n);
      done += n;
    }
    try {
      mac.doFinal(computed, 0);
    } catch (final ShortBufferException e) {
      throw new AssertionError("a 32-byte array holds an HMAC-SHA256", e);
    }
  }
}
