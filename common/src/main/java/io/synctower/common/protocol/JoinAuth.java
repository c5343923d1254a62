package io.synctower.common.protocol;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.agrona.ExpandableArrayBuffer;

/**
 * The run's shared secret and what is derived from it: the join proof, the data-plane key, and
 * reading the secret from a file.
 *
 * <p>The handshake as the two ends run it ({@link Join} has the message flow):
 *
 * <pre>{@code
 * // coordinator, on a Join.Request from rank r
 * byte[] nonce = JoinAuth.newNonce(random);               // fresh for every attempt
 * send(new Join.Challenge(runId, r, nonce));
 * // worker, on the Challenge
 * send(new Join.Proof(runId, r, JoinAuth.proof(secret, runId, request, nonce)));
 * // coordinator, on the Proof
 * if (!JoinAuth.verify(secret, runId, request, nonce, proof.proof())) reject(r);
 * }</pre>
 *
 * <p>The proof is HMAC-SHA256 keyed with the secret over a transcript that binds it to this run,
 * this nonce and every field of the request, so a proof cannot be replayed for another run, another
 * attempt, or another rank or endpoint. Every method is static and thread-safe; each call allocates
 * its own {@link Mac} (the handshake runs once per worker, far from any hot path).
 */
public final class JoinAuth {
  /** The shortest secret accepted: 128 bits. */
  public static final int MIN_SECRET_BYTES = 16;

  /** Bytes of a nonce and of a proof. */
  public static final int DIGEST_BYTES = 32;

  /** The longest secret file read; a longer one is not a secret file. */
  static final int MAX_SECRET_FILE_BYTES = 4096;

  private static final String HMAC = "HmacSHA256";
  private static final byte[] JOIN_DOMAIN = "synctower-join-v1".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] DATA_DOMAIN = "synctower-data-v1".getBytes(StandardCharsets.US_ASCII);
  private static final String GENERATE = "openssl rand -hex 32";

  private JoinAuth() {}

  /** 32 fresh random bytes for a {@link Join.Challenge}. */
  public static byte[] newNonce(final SecureRandom random) {
    Objects.requireNonNull(random, "random");
    final byte[] nonce = new byte[DIGEST_BYTES];
    random.nextBytes(nonce);
    return nonce;
  }

  /** A new secret: 32 random bytes as 64 lower-case hex digits, what {@code readSecret} reads. */
  public static String newSecretHex(final SecureRandom random) {
    Objects.requireNonNull(random, "random");
    final byte[] secret = new byte[32];
    random.nextBytes(secret);
    return HexFormat.of().formatHex(secret);
  }

  /**
   * The worker's answer to a challenge: HMAC-SHA256 keyed with {@code secret} over the transcript
   *
   * <pre>
   * "synctower-join-v1" (17 ASCII bytes)
   * runId int64, rank int32, worldSize int32, pid int64, device int32   (little-endian)
   * host, controlEndpoint, dataEndpoint     (each: uint32 little-endian byte count, then UTF-8)
   * nonce (32 bytes)
   * </pre>
   *
   * Only the strings vary in length and each carries its own, so two different requests never give
   * the same transcript. Allocates the transcript and the result.
   *
   * @param runId the run id of the challenge (the request itself carries 0)
   * @return 32 bytes
   * @throws IllegalArgumentException if the secret is shorter than {@value #MIN_SECRET_BYTES}
   *     bytes, the nonce is not {@value #DIGEST_BYTES} bytes, or a string has an unpaired surrogate
   */
  public static byte[] proof(
      final byte[] secret, final long runId, final Join.Request request, final byte[] nonce) {
    requireSecret(secret);
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(nonce, "nonce");
    if (nonce.length != DIGEST_BYTES) {
      throw new IllegalArgumentException(
          "nonce must be " + DIGEST_BYTES + " bytes, got " + nonce.length);
    }
    final ExpandableArrayBuffer t = new ExpandableArrayBuffer(128);
    int p = 0;
    t.putBytes(p, JOIN_DOMAIN);
    p += JOIN_DOMAIN.length;
    t.putLong(p, runId, ByteOrder.LITTLE_ENDIAN);
    p += Long.BYTES;
    t.putInt(p, request.rank(), ByteOrder.LITTLE_ENDIAN);
    p += Integer.BYTES;
    t.putInt(p, request.worldSize(), ByteOrder.LITTLE_ENDIAN);
    p += Integer.BYTES;
    t.putLong(p, request.pid(), ByteOrder.LITTLE_ENDIAN);
    p += Long.BYTES;
    t.putInt(p, request.device(), ByteOrder.LITTLE_ENDIAN);
    p += Integer.BYTES;
    p = putText(t, p, request.host(), "host");
    p = putText(t, p, request.controlEndpoint(), "controlEndpoint");
    p = putText(t, p, request.dataEndpoint(), "dataEndpoint");
    t.putBytes(p, nonce);
    p += nonce.length;
    final Mac mac = mac(secret);
    mac.update(t.byteArray(), 0, p);
    return mac.doFinal();
  }

  private static int putText(
      final ExpandableArrayBuffer t, final int p, final String s, final String field) {
    Utf8.length(s, "Join.Request." + field);
    final int n = Utf8.put(t, p + Integer.BYTES, s);
    t.putInt(p, n, ByteOrder.LITTLE_ENDIAN);
    return p + Integer.BYTES + n;
  }

  /**
   * Whether {@code proof} is the {@link #proof} of this request and nonce under {@code secret},
   * compared in constant time. A proof of the wrong length is false, not an error (it came from the
   * network).
   *
   * @throws IllegalArgumentException as {@link #proof} for the secret and nonce (ours, not the
   *     peer's)
   */
  public static boolean verify(
      final byte[] secret,
      final long runId,
      final Join.Request request,
      final byte[] nonce,
      final byte[] proof) {
    final byte[] expected = proof(secret, runId, request, nonce);
    return proof != null && proof.length == DIGEST_BYTES && MessageDigest.isEqual(expected, proof);
  }

  /**
   * The data plane's frame key of a run (ReduceFrame's {@code runKey}): the first 8 bytes, read
   * little-endian, of HMAC-SHA256 keyed with {@code secret} over {@code "synctower-data-v1"}
   * followed by {@code runId} as little-endian int64. Differs per run and per secret, and reveals
   * neither.
   */
  public static long dataKey(final byte[] secret, final long runId) {
    requireSecret(secret);
    final Mac mac = mac(secret);
    mac.update(DATA_DOMAIN);
    final byte[] id = new byte[Long.BYTES];
    for (int i = 0; i < id.length; i++) {
      id[i] = (byte) (runId >>> (8 * i));
    }
    final byte[] h = mac.doFinal(id);
    long key = 0;
    for (int i = Long.BYTES - 1; i >= 0; i--) {
      key = (key << 8) | (h[i] & 0xFF);
    }
    return key;
  }

  /**
   * Reads the run's secret from {@code file}, after {@link #checkOwnerOnly} allows the file. The
   * content is parsed by {@link #parseSecret}.
   *
   * @return the decoded secret, at least {@value #MIN_SECRET_BYTES} bytes
   * @throws IllegalArgumentException if the file is readable or writable by group or others, is
   *     larger than a secret file, or holds a secret that is too short; the message names the file
   *     and the fix
   * @throws IOException if it cannot be read
   */
  public static byte[] readSecret(final Path file) throws IOException {
    Objects.requireNonNull(file, "file");
    checkOwnerOnly(file);
    final long size = Files.size(file);
    if (size > MAX_SECRET_FILE_BYTES) {
      throw new IllegalArgumentException(
          "secret file "
              + file
              + " is "
              + size
              + " bytes; a secret file holds at most "
              + MAX_SECRET_FILE_BYTES
              + " (create one with `"
              + GENERATE
              + " > "
              + file
              + "`)");
    }
    return parseSecret(Files.readAllBytes(file), file.toString());
  }

  /**
   * Refuses a secret file that anyone but its owner may read or write (on a POSIX file system;
   * elsewhere it checks nothing). A secret others can read is no secret; one others can write lets
   * them choose it.
   *
   * @throws IllegalArgumentException naming the file, its permissions and {@code chmod 600 FILE}
   * @throws IOException if the permissions cannot be read (e.g. the file does not exist)
   */
  public static void checkOwnerOnly(final Path file) throws IOException {
    Objects.requireNonNull(file, "file");
    if (Files.getFileAttributeView(file, PosixFileAttributeView.class) == null) {
      return;
    }
    final Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(file);
    final List<String> open = new ArrayList<>();
    for (final PosixFilePermission p :
        List.of(
            PosixFilePermission.GROUP_READ,
            PosixFilePermission.GROUP_WRITE,
            PosixFilePermission.OTHERS_READ,
            PosixFilePermission.OTHERS_WRITE)) {
      if (permissions.contains(p)) {
        open.add(p.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' '));
      }
    }
    if (!open.isEmpty()) {
      throw new IllegalArgumentException(
          "secret file "
              + file
              + " is "
              + String.join(", ", open)
              + " (permissions "
              + java.nio.file.attribute.PosixFilePermissions.toString(permissions)
              + "); make it private to its owner: chmod 600 "
              + file);
    }
  }

  /**
   * Decodes a secret file's content. Leading and trailing ASCII whitespace is dropped; then the
   * text is read as hex if it is an even number of hex digits, else as base64 (standard or URL-safe
   * alphabet, padded to a multiple of 4) if it is that, else the bytes are the secret as they are.
   * So {@code openssl rand -hex 32} and {@code openssl rand -base64 32} output both work; a raw
   * binary secret loses leading and trailing whitespace bytes, and a passphrase that happens to be
   * hex or base64 is decoded as such.
   *
   * @param source the file name (or other origin) for error messages
   * @return a new array of at least {@value #MIN_SECRET_BYTES} bytes
   * @throws IllegalArgumentException if empty or shorter than {@value #MIN_SECRET_BYTES} bytes
   *     after decoding; the message says how long it is and how to generate one
   */
  public static byte[] parseSecret(final byte[] content, final String source) {
    Objects.requireNonNull(content, "content");
    Objects.requireNonNull(source, "source");
    int from = 0;
    int to = content.length;
    while (from < to && isAsciiSpace(content[from])) {
      from++;
    }
    while (to > from && isAsciiSpace(content[to - 1])) {
      to--;
    }
    final byte[] text = Arrays.copyOfRange(content, from, to);
    final String fix =
        "generate one with `" + GENERATE + " > " + source + "` then `chmod 600 " + source + "`";
    if (text.length == 0) {
      throw new IllegalArgumentException("secret " + source + " is empty; " + fix);
    }
    final byte[] secret;
    final String format;
    if (isHex(text)) {
      secret = HexFormat.of().parseHex(new String(text, StandardCharsets.US_ASCII));
      format = "hex";
    } else if (isBase64(text, false)) {
      secret = Base64.getDecoder().decode(text);
      format = "base64";
    } else if (isBase64(text, true)) {
      secret = Base64.getUrlDecoder().decode(text);
      format = "base64url";
    } else {
      secret = text;
      format = "raw bytes";
    }
    if (secret.length < MIN_SECRET_BYTES) {
      throw new IllegalArgumentException(
          "secret "
              + source
              + " is "
              + secret.length
              + " bytes (read as "
              + format
              + "); at least "
              + MIN_SECRET_BYTES
              + " are needed, 32 recommended: "
              + fix);
    }
    return secret;
  }

  /**
   * @throws IllegalArgumentException if {@code secret} is shorter than {@value #MIN_SECRET_BYTES}
   */
  static void requireSecret(final byte[] secret) {
    Objects.requireNonNull(secret, "secret");
    if (secret.length < MIN_SECRET_BYTES) {
      throw new IllegalArgumentException(
          "the run secret is "
              + secret.length
              + " bytes; at least "
              + MIN_SECRET_BYTES
              + " are needed ("
              + GENERATE
              + " makes one)");
    }
  }

  private static Mac mac(final byte[] secret) {
    try {
      final Mac mac = Mac.getInstance(HMAC);
      mac.init(new SecretKeySpec(secret, HMAC));
      return mac;
    } catch (final NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("this JVM has no usable " + HMAC, e);
    }
  }

  private static boolean isAsciiSpace(final byte b) {
    return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == 0x0B;
  }

  private static boolean isHex(final byte[] text) {
    if (text.length % 2 != 0) {
      return false;
    }
    for (final byte b : text) {
      if (Character.digit(b, 16) < 0) {
        return false;
      }
    }
    return true;
  }

  /** Padded base64 of the standard or URL-safe alphabet, which the JDK decoder then accepts. */
  private static boolean isBase64(final byte[] text, final boolean urlSafe) {
    if (text.length % 4 != 0) {
      return false;
    }
    int data = text.length;
    while (data > 0 && text.length - data < 2 && text[data - 1] == '=') {
      data--;
    }
    for (int i = 0; i < data; i++) {
      final byte b = text[i];
      final boolean alnum =
          (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9');
      final boolean symbol = urlSafe ? (b == '-' || b == '_') : (b == '+' || b == '/');
      if (!alnum && !symbol) {
        return false;
      }
    }
    return true;
  }
}
