package io.synctower.common.protocol;

import static io.synctower.common.protocol.ProtocolSamples.SECRET;
import static io.synctower.common.protocol.ProtocolSamples.assertSameMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/**
 * The bytes on the wire, pinned: every sample of {@link ProtocolSamples#small()} (each message type
 * at least once, with awkward values), encoded with sequence number {@code 1000 + index} under
 * {@link ProtocolSamples#SECRET}, must give exactly the frame recorded in {@code
 * control-frames.golden}, and that frame must decode back to the sample.
 *
 * <p>The file was written once by the codec as it was before the per-message split (#14) and is
 * never regenerated: a change here is a change of the wire format, which needs a schema version
 * bump, not a new golden file.
 */
class ControlFrameGoldenTest {
  private final ControlCodec codec = new ControlCodec(SECRET);

  @Test
  void shouldEncodeEverySampleToTheRecordedBytesAndDecodeThemBack() throws IOException {
    final List<Message> samples = ProtocolSamples.small();
    final List<String[]> golden = golden();
    assertEquals(samples.size(), golden.size(), "one golden frame per sample");
    for (int i = 0; i < samples.size(); i++) {
      final Message m = samples.get(i);
      final String what = "sample " + i + " (" + m.getClass().getSimpleName() + ")";
      assertEquals(golden.get(i)[0], m.getClass().getSimpleName(), what + ": type");
      final byte[] frame = ControlCodecTest.encode(codec, m, 1000 + i);
      assertEquals(golden.get(i)[1], HexFormat.of().formatHex(frame), what + ": bytes");
      final byte[] recorded = HexFormat.of().parseHex(golden.get(i)[1]);
      final Decoded.Ok ok =
          assertInstanceOf(
              Decoded.Ok.class, codec.decode(new UnsafeBuffer(recorded), 0, recorded.length), what);
      assertEquals(1000 + i, ok.seq(), what + ": seq");
      assertEquals(ControlCodec.senderOf(m), ok.sender(), what + ": sender");
      assertSameMessage(m, ok.message());
    }
  }

  /** Lines {@code <simple type name> <hex>}; '#' starts a comment line. */
  private static List<String[]> golden() throws IOException {
    final List<String[]> out = new ArrayList<>();
    try (InputStream in =
        ControlFrameGoldenTest.class.getResourceAsStream("control-frames.golden")) {
      assertNotNull(in, "control-frames.golden is on the test class path");
      final BufferedReader r =
          new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        if (!line.isBlank() && !line.startsWith("#")) {
          out.add(line.trim().split(" ", 2));
        }
      }
    }
    return out;
  }
}
