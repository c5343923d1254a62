package io.synctower.common.protocol;

import static io.synctower.common.protocol.ProtocolSamples.RUN;
import static io.synctower.common.protocol.ProtocolSamples.SECRET;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Join proofs against an independently built transcript, the data key, and secret files. */
class JoinAuthTest {
  private static final Join.Request REQUEST =
      new Join.Request(3, 8, 4242L, 1, "gpu-node-7", "10.0.0.7:40123", "aeron:udp?e=10.0.0.7:2");
  private static final byte[] NONCE = ProtocolSamples.bytes(9);

  @TempDir Path dir;

  /** The documented transcript, built with a ByteBuffer rather than the production code. */
  private static byte[] transcript(final long runId, final Join.Request r, final byte[] nonce) {
    final byte[][] texts = {
      r.host().getBytes(StandardCharsets.UTF_8),
      r.controlEndpoint().getBytes(StandardCharsets.UTF_8),
      r.dataEndpoint().getBytes(StandardCharsets.UTF_8)
    };
    final ByteBuffer b = ByteBuffer.allocate(1000).order(ByteOrder.LITTLE_ENDIAN);
    b.put("synctower-join-v1".getBytes(StandardCharsets.US_ASCII));
    b.putLong(runId).putInt(r.rank()).putInt(r.worldSize()).putLong(r.pid()).putInt(r.device());
    for (final byte[] t : texts) {
      b.putInt(t.length).put(t);
    }
    b.put(nonce);
    return Arrays.copyOf(b.array(), b.position());
  }

  @Test
  void proofIsHmacSha256OfTheDocumentedTranscript() {
    final byte[] t = transcript(RUN, REQUEST, NONCE);
    assertArrayEquals(
        ProtocolSamples.hmac(SECRET, t, t.length), JoinAuth.proof(SECRET, RUN, REQUEST, NONCE));
  }

  @Test
  void proofVerifiesWithTheRightSecretOnly() {
    final byte[] proof = JoinAuth.proof(SECRET, RUN, REQUEST, NONCE);
    assertEquals(32, proof.length);
    assertTrue(JoinAuth.verify(SECRET, RUN, REQUEST, NONCE, proof));
    final byte[] wrong = SECRET.clone();
    wrong[0] ^= 0x40;
    assertFalse(JoinAuth.verify(wrong, RUN, REQUEST, NONCE, proof));
    assertFalse(JoinAuth.verify(SECRET, RUN, REQUEST, NONCE, Arrays.copyOf(proof, 31)));
    assertFalse(JoinAuth.verify(SECRET, RUN, REQUEST, NONCE, null));
  }

  @Test
  void proofFailsForAnotherNonceRunOrAnyChangedRequestField() {
    final byte[] proof = JoinAuth.proof(SECRET, RUN, REQUEST, NONCE);
    final byte[] otherNonce = NONCE.clone();
    otherNonce[31] ^= 1;
    assertFalse(JoinAuth.verify(SECRET, RUN, REQUEST, otherNonce, proof));
    assertFalse(JoinAuth.verify(SECRET, RUN + 1, REQUEST, NONCE, proof));
    final Join.Request r = REQUEST;
    for (final Join.Request changed :
        List.of(
            new Join.Request(
                4,
                r.worldSize(),
                r.pid(),
                r.device(),
                r.host(),
                r.controlEndpoint(),
                r.dataEndpoint()),
            new Join.Request(
                r.rank(), 9, r.pid(), r.device(), r.host(), r.controlEndpoint(), r.dataEndpoint()),
            new Join.Request(
                r.rank(),
                r.worldSize(),
                4243L,
                r.device(),
                r.host(),
                r.controlEndpoint(),
                r.dataEndpoint()),
            new Join.Request(
                r.rank(),
                r.worldSize(),
                r.pid(),
                0,
                r.host(),
                r.controlEndpoint(),
                r.dataEndpoint()),
            new Join.Request(
                r.rank(),
                r.worldSize(),
                r.pid(),
                r.device(),
                "gpu-node-8",
                r.controlEndpoint(),
                r.dataEndpoint()),
            new Join.Request(
                r.rank(),
                r.worldSize(),
                r.pid(),
                r.device(),
                r.host(),
                "10.0.0.7:40124",
                r.dataEndpoint()),
            new Join.Request(
                r.rank(),
                r.worldSize(),
                r.pid(),
                r.device(),
                r.host(),
                r.controlEndpoint(),
                "aeron:udp?e=10.0.0.7:3"))) {
      assertFalse(JoinAuth.verify(SECRET, RUN, changed, NONCE, proof), changed::toString);
    }
  }

  @Test
  void transcriptIsUnambiguousWhereStringsMeet() {
    final Join.Request a = new Join.Request(1, 2, 3, 4, "ab", "c", "");
    final Join.Request b = new Join.Request(1, 2, 3, 4, "a", "bc", "");
    assertFalse(
        Arrays.equals(
            JoinAuth.proof(SECRET, RUN, a, NONCE), JoinAuth.proof(SECRET, RUN, b, NONCE)));
  }

  @Test
  void proofRefusesAShortSecretOrAWrongSizeNonce() {
    assertThrows(
        IllegalArgumentException.class, () -> JoinAuth.proof(new byte[15], RUN, REQUEST, NONCE));
    assertThrows(
        IllegalArgumentException.class, () -> JoinAuth.proof(SECRET, RUN, REQUEST, new byte[16]));
  }

  @Test
  void dataKeyIsTheFirst8BytesOfTheDocumentedHmacAndDiffersPerRunAndSecret() {
    final byte[] input =
        ByteBuffer.allocate(25)
            .order(ByteOrder.LITTLE_ENDIAN)
            .put("synctower-data-v1".getBytes(StandardCharsets.US_ASCII))
            .putLong(RUN)
            .array();
    final long expected =
        ByteBuffer.wrap(ProtocolSamples.hmac(SECRET, input, input.length))
            .order(ByteOrder.LITTLE_ENDIAN)
            .getLong(0);
    assertEquals(expected, JoinAuth.dataKey(SECRET, RUN));
    assertEquals(JoinAuth.dataKey(SECRET, RUN), JoinAuth.dataKey(SECRET.clone(), RUN));
    assertNotEquals(JoinAuth.dataKey(SECRET, RUN), JoinAuth.dataKey(SECRET, RUN + 1));
    final byte[] other = SECRET.clone();
    other[5] ^= 1;
    assertNotEquals(JoinAuth.dataKey(SECRET, RUN), JoinAuth.dataKey(other, RUN));
  }

  @Test
  void noncesAndSecretsAreFreshAndTheRightSize() {
    final SecureRandom random = new SecureRandom();
    final byte[] n1 = JoinAuth.newNonce(random);
    assertEquals(32, n1.length);
    assertFalse(Arrays.equals(n1, JoinAuth.newNonce(random)));
    final String hex = JoinAuth.newSecretHex(random);
    assertTrue(hex.matches("[0-9a-f]{64}"), hex);
    assertEquals(32, JoinAuth.parseSecret(hex.getBytes(StandardCharsets.US_ASCII), "x").length);
  }

  // ---------------------------------------------------------------- secret files

  private Path write(final byte[] content) throws IOException {
    final Path file = dir.resolve("secret");
    Files.write(file, content);
    if (FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    }
    return file;
  }

  @Test
  void readsHexWithSurroundingWhitespace() throws IOException {
    final byte[] secret = new byte[32];
    new Random(1).nextBytes(secret);
    final String hex = "  " + HexFormat.of().withUpperCase().formatHex(secret) + "\r\n";
    assertArrayEquals(secret, JoinAuth.readSecret(write(hex.getBytes(StandardCharsets.US_ASCII))));
  }

  @Test
  void readsBase64AsOpensslWritesIt() throws IOException {
    final byte[] secret = new byte[32];
    new Random(2).nextBytes(secret);
    final String b64 = Base64.getEncoder().encodeToString(secret) + "\n"; // 44 chars, '=' padded
    assertArrayEquals(secret, JoinAuth.readSecret(write(b64.getBytes(StandardCharsets.US_ASCII))));
    final String url = Base64.getUrlEncoder().encodeToString(secret);
    assertArrayEquals(secret, JoinAuth.parseSecret(url.getBytes(StandardCharsets.US_ASCII), "u"));
  }

  @Test
  void readsRawBytesThatAreNeitherHexNorBase64() throws IOException {
    final byte[] raw = new byte[24];
    for (int i = 0; i < raw.length; i++) {
      raw[i] = (byte) (0x80 + i); // not ASCII, so neither hex nor base64
    }
    assertArrayEquals(raw, JoinAuth.readSecret(write(raw)));
    final byte[] passphrase = "correct horse battery staple".getBytes(StandardCharsets.UTF_8);
    assertArrayEquals(passphrase, JoinAuth.parseSecret(passphrase, "p"));
  }

  @Test
  void refusesAShortSecretSayingHowLongItIsAndHowToMakeOne() throws IOException {
    final Path file = write("00112233445566778899aabbccddee\n".getBytes(StandardCharsets.US_ASCII));
    final IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> JoinAuth.readSecret(file));
    assertTrue(e.getMessage().contains("is 15 bytes (read as hex)"), e.getMessage());
    assertTrue(e.getMessage().contains("at least 16"), e.getMessage());
    assertTrue(e.getMessage().contains("openssl rand -hex 32 > " + file), e.getMessage());
    final IllegalArgumentException empty =
        assertThrows(
            IllegalArgumentException.class,
            () -> JoinAuth.readSecret(write(" \n".getBytes(StandardCharsets.US_ASCII))));
    assertTrue(empty.getMessage().contains("is empty"), empty.getMessage());
    assertTrue(empty.getMessage().contains("openssl rand -hex 32"), empty.getMessage());
  }

  @Test
  void refusesAFileTooLargeToBeASecret() throws IOException {
    final Path file = write(new byte[JoinAuth.MAX_SECRET_FILE_BYTES + 1]);
    final IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> JoinAuth.readSecret(file));
    assertTrue(e.getMessage().contains("at most 4096"), e.getMessage());
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"rw-r--r--", "rw-r-----", "rw----r--", "rw--w----", "rw-----w-"})
  void refusesASecretFileOthersCanReadOrWrite(final String permissions) throws IOException {
    assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"));
    final String perms = permissions;
    final Path file =
        write(JoinAuth.newSecretHex(new SecureRandom()).getBytes(StandardCharsets.US_ASCII));
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(perms));
    final IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> JoinAuth.checkOwnerOnly(file));
    assertTrue(e.getMessage().contains("chmod 600 " + file), e.getMessage());
    assertTrue(e.getMessage().contains(perms), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> JoinAuth.readSecret(file));
  }

  @Test
  void acceptsAnOwnerOnlyFileIncludingAnExecutableOrReadOnlyOne() throws IOException {
    assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"));
    final Path file =
        write(JoinAuth.newSecretHex(new SecureRandom()).getBytes(StandardCharsets.US_ASCII));
    for (final String perms : List.of("rw-------", "r--------", "rwx--x--x")) {
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(perms));
      assertDoesNotThrow(() -> JoinAuth.checkOwnerOnly(file), perms);
    }
  }
}
