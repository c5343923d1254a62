package io.synctower.common.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CaptchaDatasetTest {
  private static CaptchaDataset captcha(final long seed, final double noise) {
    return CaptchaDataset.builder().seed(seed).size(50).noise(noise).build();
  }

  private static float[] pixels(final Dataset d, final int index) {
    final float[] px = new float[d.sampleShape().elementCount()];
    d.sample(index, px, new int[d.labelPositions()], 0);
    return px;
  }

  @Test
  void shouldRenderIdenticalPixelsForTheSameSeedAndIndexAcrossCallsAndInstances() {
    final CaptchaDataset a = captcha(11, 0.7);
    final CaptchaDataset b = captcha(11, 0.7);
    for (int i = 0; i < 3; i++) {
      final float[] first = pixels(a, i);
      assertArrayEquals(first, pixels(a, i));
      assertArrayEquals(first, pixels(b, i));
    }
  }

  @Test
  void shouldRenderDifferentImagesForDifferentIndicesAndSeeds() {
    final CaptchaDataset a = captcha(11, 0.7);
    assertFalse(Arrays.equals(pixels(a, 0), pixels(a, 1)));
    assertFalse(Arrays.equals(pixels(a, 0), pixels(captcha(12, 0.7), 0)));
  }

  @Test
  void shouldLabelEachPositionWithTheCharsetIndexOfItsCharacter() {
    final CaptchaDataset d = CaptchaDataset.builder().seed(3).size(20).length(5).noise(0.2).build();
    assertEquals(5, d.labelPositions());
    assertEquals(62, d.numClasses());
    final int[] labels = new int[2 + 5];
    for (int i = 0; i < d.size(); i++) {
      d.sample(i, new float[d.sampleShape().elementCount()], labels, 2);
      final String text = d.text(i);
      for (int p = 0; p < 5; p++) {
        assertTrue(labels[2 + p] >= 0 && labels[2 + p] < 62);
        assertEquals(
            CaptchaDataset.Charset.ALNUM.characters().charAt(labels[2 + p]), text.charAt(p));
      }
    }
  }

  @Test
  void shouldUseTenClassesForDigits() {
    final CaptchaDataset d =
        CaptchaDataset.builder().size(30).charset(CaptchaDataset.Charset.DIGITS).build();
    assertEquals(10, d.numClasses());
    for (int i = 0; i < d.size(); i++) {
      assertTrue(d.text(i).chars().allMatch(Character::isDigit), d.text(i));
    }
  }

  @Test
  void shouldKeepTheTextIndependentOfNoiseAndSize() {
    final CaptchaDataset clean = CaptchaDataset.builder().seed(5).size(10).noise(0).build();
    final CaptchaDataset small =
        CaptchaDataset.builder().seed(5).size(10).height(24).width(72).noise(1).build();
    assertEquals(clean.text(4), small.text(4));
  }

  @Test
  void shouldDrawAllSixtyTwoGlyphsPairwiseDifferent() {
    final String chars = CaptchaDataset.Charset.ALNUM.characters();
    assertEquals(62, chars.length());
    for (int i = 0; i < chars.length(); i++) {
      assertTrue(Long.bitCount(Glyphs5x7.bits(chars.charAt(i))) >= 5, "glyph " + chars.charAt(i));
      for (int j = i + 1; j < chars.length(); j++) {
        assertTrue(
            Glyphs5x7.bits(chars.charAt(i)) != Glyphs5x7.bits(chars.charAt(j)),
            chars.charAt(i) + " and " + chars.charAt(j) + " have the same glyph");
      }
    }
  }

  @Test
  void shouldDrawLowercaseLettersWithinTheXHeightUnlessTheyHaveAnAscender() {
    // In a normal font c, o, s, x sit below the cap height; their uppercase forms reach row 0.
    for (final char c : "cosxz".toCharArray()) {
      final long lower = Glyphs5x7.bits(c);
      final long upper = Glyphs5x7.bits(Character.toUpperCase(c));
      assertEquals(0, lower & 0b11111L, c + " must leave row 0 empty");
      assertTrue((upper & 0b11111L) != 0, Character.toUpperCase(c) + " must reach row 0");
    }
  }

  @ParameterizedTest
  @CsvSource({"80, 120, 0.0", "80, 120, 0.5", "80, 120, 1.0", "24, 72, 1.0", "24, 64, 1.0"})
  void shouldKeepPixelsWithinZeroAndOne(final int h, final int w, final double noise) {
    final CaptchaDataset d =
        CaptchaDataset.builder().seed(9).size(5).height(h).width(w).noise(noise).build();
    for (int i = 0; i < d.size(); i++) {
      for (final float v : pixels(d, i)) {
        assertTrue(v >= 0f && v <= 1f, "pixel " + v);
      }
    }
  }

  @ParameterizedTest
  @CsvSource({"80, 120", "24, 72", "24, 64", "40, 200"})
  void shouldKeepEveryCharacterInsideItsSlotWhenNoiseIsZero(final int h, final int w) {
    // Noise 0: white background (exactly 1), upright glyphs centred in slots of width w/4, no
    // lines. So every border pixel and every pixel on a slot boundary must be background, and
    // every slot must hold some ink.
    final CaptchaDataset d =
        CaptchaDataset.builder().seed(2).size(8).height(h).width(w).noise(0).build();
    for (int i = 0; i < d.size(); i++) {
      final float[] px = pixels(d, i);
      for (int x = 0; x < w; x++) {
        assertEquals(1f, px[x], "top row, x=" + x);
        assertEquals(1f, px[(h - 1) * w + x], "bottom row, x=" + x);
      }
      for (int k = 0; k <= 4; k++) {
        final int x = Math.min(w - 1, k * w / 4);
        for (int y = 0; y < h; y++) {
          assertEquals(1f, px[y * w + x], "slot boundary x=" + x + ", y=" + y + " of " + d.text(i));
        }
      }
      for (int k = 0; k < 4; k++) {
        float min = 1f;
        for (int y = 0; y < h; y++) {
          for (int x = k * w / 4; x < (k + 1) * w / 4; x++) {
            min = Math.min(min, px[y * w + x]);
          }
        }
        assertEquals(0f, min, "slot " + k + " of '" + d.text(i) + "' has no full ink");
      }
    }
  }

  @Test
  void shouldRejectAnImageTooNarrowForItsTextNamingTheLimit() {
    final IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> CaptchaDataset.builder().length(6).width(50).build());
    assertTrue(e.getMessage().contains("width") && e.getMessage().contains("60"), e.getMessage());
  }

  @Test
  void shouldRejectNoiseOutsideZeroToOne() {
    final IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> CaptchaDataset.builder().noise(1.5).build());
    assertTrue(e.getMessage().contains("1.5"), e.getMessage());
  }

  @Test
  void shouldRejectAnIndexOutsideTheDatasetNamingIt() {
    final CaptchaDataset d = captcha(1, 0.5);
    final IndexOutOfBoundsException e =
        assertThrows(IndexOutOfBoundsException.class, () -> pixels(d, 50));
    assertTrue(e.getMessage().contains("50") && e.getMessage().contains("0..49"), e.getMessage());
  }

  @Test
  void shouldWriteABinaryPgmWithHeaderAndClampedBytes(@TempDir final Path dir) throws Exception {
    final Path file = dir.resolve("x.pgm");
    DebugImages.writePgm(file, new float[] {0f, 1f, 0.5f, -1f, 2f, 0.2f}, 2, 3);
    final byte[] header = "P5\n3 2\n255\n".getBytes(StandardCharsets.US_ASCII);
    final byte[] expected = Arrays.copyOf(header, header.length + 6);
    final byte[] body = {0, (byte) 255, (byte) 128, 0, (byte) 255, 51};
    System.arraycopy(body, 0, expected, header.length, 6);
    assertArrayEquals(expected, Files.readAllBytes(file));
  }
}
