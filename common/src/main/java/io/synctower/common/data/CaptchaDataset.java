package io.synctower.common.data;

import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Synthetic text captchas: grayscale images of {@code length} characters drawn from a {@link
 * Charset}, labelled with each character's index in the charset (one label position per character).
 * Reproduces the "TF 2.3 captcha stuck at 1%" report without shipping data.
 *
 * <p>Sample {@code i} is a pure function of (seed, i) and the options: the text comes from one
 * {@link SplittableRandom} stream and the style (offsets, rotation, shear, stroke, intensities,
 * noise) from another, both seeded from (seed, i); glyphs come from the embedded {@code Glyphs5x7}
 * font and are rasterised with {@link StrictMath} only, so every machine renders the same bits. No
 * AWT font or Java2D is involved: system fonts differ between machines.
 *
 * <p>{@link Builder#noise(double) noise} in [0, 1] scales every distortion: at 0 the characters are
 * black, upright, centred in their slots on white, with no lines or pixel noise (an easy task); at
 * 1 they are rotated up to 0.35 rad, sheared up to 0.35, jittered, low-contrast, crossed by four
 * lines and speckled. Characters always fit inside the image: the glyph scale is chosen from the
 * transformed glyph's bounding box, so any size down to about 24 x 64 works.
 *
 * <pre>{@code
 * Dataset captcha = CaptchaDataset.builder().seed(7).size(20_000).noise(0.5).build();
 * captcha.sample(i, pixels, labels, 0); // pixels: 80*120 floats in [0,1], labels: 4 charset indices
 * }</pre>
 *
 * <p>Holds no sample data: each {@link #sample} call renders into the caller's array (allocating
 * only two small random generators). Immutable and thread-safe.
 */
public final class CaptchaDataset implements Dataset {
  /** The characters a captcha is drawn from; a label is the index of a character in this order. */
  public enum Charset {
    /** The 10 digits {@code 0-9}. */
    DIGITS("0123456789"),
    /** The 62 characters {@code 0-9}, {@code A-Z}, {@code a-z}, in that order. */
    ALNUM("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    private final String characters;

    Charset(final String characters) {
      this.characters = characters;
    }

    /** The characters in label order. */
    public String characters() {
      return characters;
    }

    /** Number of characters (= number of classes per label position). */
    public int size() {
      return characters.length();
    }
  }

  /** Smallest supported image height in pixels. */
  public static final int MIN_HEIGHT = 16;

  /** Smallest supported image width in pixels per character. */
  public static final int MIN_WIDTH_PER_CHARACTER = 10;

  private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;
  private static final long STYLE_SALT = 0x5DEECE66DL;

  /** Target glyph height as a fraction of the image height (before fitting). */
  private static final double GLYPH_HEIGHT_FRACTION = 0.6;

  /** Supersampling grid per pixel axis for anti-aliased coverage. */
  private static final int SUPERSAMPLE = 2;

  private final long seed;
  private final int size;
  private final int height;
  private final int width;
  private final int length;
  private final Charset charset;
  private final double noise;
  private final SampleShape shape;

  private CaptchaDataset(final Builder b) {
    this.seed = b.seed;
    this.size = b.size;
    this.height = b.height;
    this.width = b.width;
    this.length = b.length;
    this.charset = b.charset;
    this.noise = b.noise;
    this.shape = new SampleShape(1, height, width);
  }

  /**
   * A builder with the defaults: seed 0, 1000 samples, 80 x 120, 4 characters, ALNUM, noise 0.5.
   */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public SampleShape sampleShape() {
    return shape;
  }

  @Override
  public int labelPositions() {
    return length;
  }

  @Override
  public int numClasses() {
    return charset.size();
  }

  /** The charset labels index into. */
  public Charset charset() {
    return charset;
  }

  /** The text of sample {@code index} (allocates a String; for tests and debugging). */
  public String text(final int index) {
    checkIndex(index);
    final int[] labels = new int[length];
    drawText(textRandom(index), labels, 0);
    final StringBuilder sb = new StringBuilder(length);
    for (final int label : labels) {
      sb.append(charset.characters().charAt(label));
    }
    return sb.toString();
  }

  @Override
  public void sample(
      final int index, final float[] pixelsHwc, final int[] labels, final int labelOffset) {
    checkIndex(index);
    if (pixelsHwc.length < shape.elementCount()) {
      throw new IllegalArgumentException(
          describe()
              + ": pixel array for sample "
              + index
              + " has length "
              + pixelsHwc.length
              + ", expected at least "
              + shape.elementCount());
    }
    if (labelOffset < 0 || labelOffset > labels.length - length) {
      throw new IllegalArgumentException(
          describe()
              + ": labels for sample "
              + index
              + " need "
              + length
              + " slots at offset "
              + labelOffset
              + ", array length is "
              + labels.length);
    }
    drawText(textRandom(index), labels, labelOffset);
    render(
        new SplittableRandom(EpochPermutation.mix64(mixedSeed(index) ^ STYLE_SALT)),
        labels,
        labelOffset,
        pixelsHwc);
  }

  @Override
  public String describe() {
    return "captcha(seed="
        + seed
        + ", n="
        + size
        + ", "
        + shape
        + ", length="
        + length
        + ", charset="
        + charset
        + ", noise="
        + noise
        + ")";
  }

  private void checkIndex(final int index) {
    if (index < 0 || index >= size) {
      throw new IndexOutOfBoundsException(
          describe() + ": sample index " + index + " outside 0.." + (size - 1));
    }
  }

  private long mixedSeed(final int index) {
    return EpochPermutation.mix64(seed * GOLDEN_GAMMA + index);
  }

  private SplittableRandom textRandom(final int index) {
    return new SplittableRandom(mixedSeed(index));
  }

  private void drawText(final SplittableRandom random, final int[] labels, final int offset) {
    for (int p = 0; p < length; p++) {
      labels[offset + p] = random.nextInt(charset.size());
    }
  }

  /**
   * Renders the characters {@code labels[offset ..]} into {@code out} (H*W floats). {@code out}
   * first collects ink coverage in [0, 1] and is then mapped to intensities in place.
   */
  private void render(
      final SplittableRandom random, final int[] labels, final int offset, final float[] out) {
    final double d = noise;
    final int pixels = height * width;
    java.util.Arrays.fill(out, 0, pixels, 0f);

    final double background = 1.0 - 0.3 * d * random.nextDouble();
    final double foreground = 0.35 * d * random.nextDouble();
    final double slot = (double) width / length;

    for (int p = 0; p < length; p++) {
      final long glyph = Glyphs5x7.bits(charset.characters().charAt(labels[offset + p]));
      drawGlyph(random, glyph, p, slot, d, out);
    }

    final int lines = (int) (4 * d + random.nextDouble());
    for (int l = 0; l < lines; l++) {
      drawLine(random, out);
    }

    final double speckle = 0.02 * d;
    final double jitter = 0.2 * d;
    for (int i = 0; i < pixels; i++) {
      double v = background + (foreground - background) * out[i];
      if (d > 0) {
        v += jitter * (2 * random.nextDouble() - 1);
        final double u = random.nextDouble();
        if (u < speckle) {
          v = u < speckle / 2 ? 0.0 : 1.0;
        }
      }
      out[i] = (float) StrictMath.min(1.0, StrictMath.max(0.0, v));
    }
  }

  /**
   * Draws one glyph into its slot: forward map = shear (x += shear*y), rotate, scale, translate.
   */
  private void drawGlyph(
      final SplittableRandom random,
      final long glyph,
      final int position,
      final double slot,
      final double d,
      final float[] coverage) {
    final double scaleJitter = 1.0 - 0.2 * d * random.nextDouble();
    final double theta = (2 * random.nextDouble() - 1) * 0.35 * d;
    final double shear = (2 * random.nextDouble() - 1) * 0.35 * d;
    final double thickness = 0.1 + 0.2 * random.nextDouble();
    final double jitterX = 2 * random.nextDouble() - 1;
    final double jitterY = 2 * random.nextDouble() - 1;
    final double cos = StrictMath.cos(theta);
    final double sin = StrictMath.sin(theta);

    // Half extents of the transformed glyph box at scale 1 (the box grows by the stroke dilation).
    final double bx = Glyphs5x7.WIDTH / 2.0 + thickness;
    final double by = Glyphs5x7.HEIGHT / 2.0 + thickness;
    final double halfW1 = StrictMath.abs(cos) * bx + StrictMath.abs(cos * shear - sin) * by;
    final double halfH1 = StrictMath.abs(sin) * bx + StrictMath.abs(sin * shear + cos) * by;

    final double target = GLYPH_HEIGHT_FRACTION * height / Glyphs5x7.HEIGHT * scaleJitter;
    final double scale =
        StrictMath.min(target, StrictMath.min((height / 2.0 - 1) / halfH1, 0.45 * slot / halfW1));
    final double halfW = scale * halfW1;
    final double halfH = scale * halfH1;

    final double cx =
        clamp(
            (position + 0.5) * slot + jitterX * 0.15 * slot * d, halfW + 0.5, width - halfW - 0.5);
    final double cy =
        clamp(
            height / 2.0 + jitterY * d * (height / 2.0 - halfH), halfH + 0.5, height - halfH - 0.5);

    final int x0 = (int) StrictMath.max(0, StrictMath.floor(cx - halfW));
    final int x1 = (int) StrictMath.min(width - 1, StrictMath.ceil(cx + halfW));
    final int y0 = (int) StrictMath.max(0, StrictMath.floor(cy - halfH));
    final int y1 = (int) StrictMath.min(height - 1, StrictMath.ceil(cy + halfH));
    final double step = 1.0 / SUPERSAMPLE;
    final double samples = SUPERSAMPLE * SUPERSAMPLE;
    for (int py = y0; py <= y1; py++) {
      for (int px = x0; px <= x1; px++) {
        int hits = 0;
        for (int sy = 0; sy < SUPERSAMPLE; sy++) {
          for (int sx = 0; sx < SUPERSAMPLE; sx++) {
            // Inverse map: image point -> glyph cell coordinates.
            final double ux = (px + (sx + 0.5) * step - cx) / scale;
            final double uy = (py + (sy + 0.5) * step - cy) / scale;
            final double rx = cos * ux + sin * uy;
            final double ry = -sin * ux + cos * uy;
            final double gx = rx - shear * ry + Glyphs5x7.WIDTH / 2.0;
            final double gy = ry + Glyphs5x7.HEIGHT / 2.0;
            if (inkAt(glyph, gx, gy, thickness)) {
              hits++;
            }
          }
        }
        final int i = py * width + px;
        coverage[i] = (float) StrictMath.max(coverage[i], hits / samples);
      }
    }
  }

  /** Ink test with every ink cell dilated by {@code t} (< 0.5) cells on each side. */
  private static boolean inkAt(final long glyph, final double gx, final double gy, final double t) {
    final int cLo = (int) StrictMath.floor(gx - t);
    final int cHi = (int) StrictMath.floor(gx + t);
    final int rLo = (int) StrictMath.floor(gy - t);
    final int rHi = (int) StrictMath.floor(gy + t);
    return Glyphs5x7.ink(glyph, rLo, cLo)
        || Glyphs5x7.ink(glyph, rLo, cHi)
        || Glyphs5x7.ink(glyph, rHi, cLo)
        || Glyphs5x7.ink(glyph, rHi, cHi);
  }

  /** A straight noise line with a one-pixel soft edge, across a random part of the image. */
  private void drawLine(final SplittableRandom random, final float[] coverage) {
    final double ax = random.nextDouble() * width;
    final double ay = random.nextDouble() * height;
    final double bx = random.nextDouble() * width;
    final double by = random.nextDouble() * height;
    final double halfWidth = (0.4 + 0.6 * random.nextDouble()) * StrictMath.max(1.0, height / 48.0);
    final double strength = 0.6 + 0.4 * random.nextDouble();
    final double dx = bx - ax;
    final double dy = by - ay;
    final double len2 = dx * dx + dy * dy;
    final int x0 =
        (int) StrictMath.max(0, StrictMath.floor(StrictMath.min(ax, bx) - halfWidth - 1));
    final int x1 =
        (int) StrictMath.min(width - 1, StrictMath.ceil(StrictMath.max(ax, bx) + halfWidth + 1));
    final int y0 =
        (int) StrictMath.max(0, StrictMath.floor(StrictMath.min(ay, by) - halfWidth - 1));
    final int y1 =
        (int) StrictMath.min(height - 1, StrictMath.ceil(StrictMath.max(ay, by) + halfWidth + 1));
    for (int py = y0; py <= y1; py++) {
      for (int px = x0; px <= x1; px++) {
        final double qx = px + 0.5 - ax;
        final double qy = py + 0.5 - ay;
        final double t = len2 == 0 ? 0 : clamp((qx * dx + qy * dy) / len2, 0, 1);
        final double ex = qx - t * dx;
        final double ey = qy - t * dy;
        final double dist = StrictMath.sqrt(ex * ex + ey * ey);
        final double c = strength * clamp(halfWidth + 0.5 - dist, 0, 1);
        final int i = py * width + px;
        coverage[i] = (float) StrictMath.max(coverage[i], c);
      }
    }
  }

  private static double clamp(final double v, final double lo, final double hi) {
    return StrictMath.min(hi, StrictMath.max(lo, v));
  }

  /** Options for a {@link CaptchaDataset}, validated once in {@link #build()}. */
  public static final class Builder {
    private long seed;
    private int size = 1000;
    private int height = 80;
    private int width = 120;
    private int length = 4;
    private Charset charset = Charset.ALNUM;
    private double noise = 0.5;

    private Builder() {}

    /** Seed of every sample's text and style (default 0). */
    public Builder seed(final long seed) {
      this.seed = seed;
      return this;
    }

    /** Number of samples (default 1000). */
    public Builder size(final int size) {
      this.size = size;
      return this;
    }

    /** Image height in pixels (default 80, at least {@link #MIN_HEIGHT}). */
    public Builder height(final int height) {
      this.height = height;
      return this;
    }

    /** Image width in pixels (default 120, at least {@link #MIN_WIDTH_PER_CHARACTER} * length). */
    public Builder width(final int width) {
      this.width = width;
      return this;
    }

    /** Characters per image = label positions (default 4). */
    public Builder length(final int length) {
      this.length = length;
      return this;
    }

    /** Character set (default {@link Charset#ALNUM}). */
    public Builder charset(final Charset charset) {
      this.charset = charset;
      return this;
    }

    /** Distortion and noise level in [0, 1] (default 0.5); 0 is clean, upright text. */
    public Builder noise(final double noise) {
      this.noise = noise;
      return this;
    }

    /**
     * Validates the options and builds the dataset.
     *
     * @throws IllegalArgumentException naming the first invalid option, its value and the range
     */
    public CaptchaDataset build() {
      Objects.requireNonNull(charset, "charset");
      if (size <= 0) {
        throw new IllegalArgumentException("captcha size must be > 0, got " + size);
      }
      if (length <= 0) {
        throw new IllegalArgumentException("captcha length must be > 0, got " + length);
      }
      if (height < MIN_HEIGHT) {
        throw new IllegalArgumentException(
            "captcha height must be >= " + MIN_HEIGHT + " pixels, got " + height);
      }
      if (width < MIN_WIDTH_PER_CHARACTER * length) {
        throw new IllegalArgumentException(
            "captcha width must be >= "
                + MIN_WIDTH_PER_CHARACTER
                + " pixels per character ("
                + MIN_WIDTH_PER_CHARACTER * length
                + " for length "
                + length
                + "), got "
                + width);
      }
      if ((long) height * width > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            "captcha image " + height + "x" + width + " has more than 2^31-1 pixels");
      }
      if (!(noise >= 0.0 && noise <= 1.0)) {
        throw new IllegalArgumentException("captcha noise must be in [0, 1], got " + noise);
      }
      return new CaptchaDataset(this);
    }
  }
}
