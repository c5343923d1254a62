package io.synctower.common.data;

import java.util.SplittableRandom;

/**
 * Synthetic colour images of one shape each, the class being the shape's kind: a small image task
 * for convolutional and residual networks that needs no download (the example ResNet configs train
 * on it out of the box).
 *
 * <p>Each image has a random background colour with a linear gradient, one shape of a random
 * foreground colour (with a minimum contrast), at a random position, size and rotation, and uniform
 * pixel noise. Colours, position, size and angle carry no class information, so a model must learn
 * the shape: disc, ring, square, frame, triangle, cross, bar, striped disc, checkered square, two
 * dots ({@link Kind}, in label order; {@code classes} < 10 uses the first ones). {@code noise} in
 * [0, 1] scales the pixel noise and the gradient and lowers the minimum contrast; at 0 an image
 * holds exactly its two colours and their anti-aliased blends.
 *
 * <p>Sample {@code i} is a pure function of (seed, i) and the options, drawn from one {@link
 * SplittableRandom} seeded from them and computed with {@link StrictMath}, so every machine renders
 * the same bits. Holds no sample data: {@link #sample} renders into the caller's array (allocating
 * one small generator and the two colours). Immutable and thread-safe.
 */
public final class ShapesDataset implements Dataset {
  /** The shape kinds; a label is the ordinal. Every kind fits in the unit disc of its frame. */
  public enum Kind {
    DISC,
    RING,
    SQUARE,
    FRAME,
    TRIANGLE,
    CROSS,
    BAR,
    STRIPED_DISC,
    CHECKERED_SQUARE,
    TWO_DOTS;

    /**
     * Whether the point (a, b) of the shape's frame (scaled by its radius, rotated with it) is
     * inside the shape.
     */
    boolean contains(final double a, final double b) {
      final double rho2 = a * a + b * b;
      final double ax = StrictMath.abs(a);
      final double bx = StrictMath.abs(b);
      return switch (this) {
        case DISC -> rho2 <= 0.95 * 0.95;
        case RING -> rho2 <= 0.95 * 0.95 && rho2 >= 0.55 * 0.55;
        case SQUARE -> ax <= 0.7 && bx <= 0.7;
        case FRAME -> StrictMath.max(ax, bx) <= 0.7 && StrictMath.max(ax, bx) >= 0.4;
          // Equilateral, circumradius 1: vertices (0, 1) and (+-sqrt(3)/2, -1/2).
        case TRIANGLE -> b >= -0.5 && b <= 1 - SQRT3 * ax;
        case CROSS -> (ax <= 0.25 && bx <= 0.95) || (bx <= 0.25 && ax <= 0.95);
        case BAR -> ax <= 0.9 && bx <= 0.3;
        case STRIPED_DISC ->
            rho2 <= 0.95 * 0.95 && ((int) StrictMath.floor((a + 2) / 0.35)) % 2 == 0;
        case CHECKERED_SQUARE ->
            ax <= 0.7
                && bx <= 0.7
                && ((int) StrictMath.floor((a + 0.7) / 0.35)
                            + (int) StrictMath.floor((b + 0.7) / 0.35))
                        % 2
                    == 0;
        case TWO_DOTS -> (ax - 0.6) * (ax - 0.6) + b * b <= 0.35 * 0.35;
      };
    }
  }

  /** Smallest supported image side in pixels. */
  public static final int MIN_SIDE = 8;

  private static final double SQRT3 = StrictMath.sqrt(3.0);
  private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

  /** Supersampling grid per pixel axis for anti-aliased coverage. */
  private static final int SUPERSAMPLE = 2;

  private final long seed;
  private final int size;
  private final int classes;
  private final double noise;
  private final SampleShape shape;

  private ShapesDataset(final Builder b) {
    this.seed = b.seed;
    this.size = b.size;
    this.classes = b.classes;
    this.noise = b.noise;
    this.shape = new SampleShape(b.channels, b.height, b.width);
  }

  /** A builder with the defaults: seed 0, 10000 samples, 32 x 32 x 3, 10 classes, noise 0.5. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Where and how sample {@code i} draws its shape (for tests and debugging): centre in pixels,
   * radius in pixels, angle in radians, and the colours before noise.
   */
  record Layout(
      Kind kind,
      double centreX,
      double centreY,
      double radius,
      double angle,
      double[] background,
      double[] foreground,
      double gradientX,
      double gradientY) {}

  /** The layout of sample {@code index}, drawn as {@link #sample} draws it. */
  Layout layout(final int index) {
    checkIndex(index);
    return layout(random(index));
  }

  private Layout layout(final SplittableRandom random) {
    final int channels = shape.channels();
    final int h = shape.height();
    final int w = shape.width();
    final Kind kind = Kind.values()[random.nextInt(classes)];
    final double[] background = new double[channels];
    for (int c = 0; c < channels; c++) {
      background[c] = random.nextDouble();
    }
    final double minContrast = 0.45 - 0.25 * noise;
    double[] foreground = null;
    for (int attempt = 0; attempt < 16 && foreground == null; attempt++) {
      final double[] candidate = new double[channels];
      double contrast = 0;
      for (int c = 0; c < channels; c++) {
        candidate[c] = random.nextDouble();
        contrast += StrictMath.abs(candidate[c] - background[c]) / channels;
      }
      if (contrast >= minContrast) {
        foreground = candidate;
      }
    }
    if (foreground == null) {
      foreground = new double[channels];
      for (int c = 0; c < channels; c++) {
        foreground[c] = background[c] < 0.5 ? 1.0 : 0.0;
      }
    }
    final int side = StrictMath.min(h, w);
    final double radius = side * (0.18 + 0.14 * random.nextDouble());
    final double centreX = radius + (w - 2 * radius) * random.nextDouble();
    final double centreY = radius + (h - 2 * radius) * random.nextDouble();
    final double angle = 2 * StrictMath.PI * random.nextDouble();
    // Background gradient: up to +-0.15 * noise across the image, in a random direction.
    final double gradientAngle = 2 * StrictMath.PI * random.nextDouble();
    final double gradient = 0.3 * noise * (random.nextDouble() - 0.5) / side;
    return new Layout(
        kind,
        centreX,
        centreY,
        radius,
        angle,
        background,
        foreground,
        gradient * StrictMath.cos(gradientAngle),
        gradient * StrictMath.sin(gradientAngle));
  }

  private SplittableRandom random(final int index) {
    return new SplittableRandom(EpochPermutation.mix64(seed * GOLDEN_GAMMA + index));
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
    return 1;
  }

  @Override
  public int numClasses() {
    return classes;
  }

  @Override
  public void sample(
      final int index, final float[] pixelsHwc, final int[] labels, final int labelOffset) {
    checkIndex(index);
    final SplittableRandom random = random(index);
    final Layout l = layout(random);
    final int h = shape.height();
    final int w = shape.width();
    final int channels = shape.channels();
    final double cos = StrictMath.cos(l.angle());
    final double sin = StrictMath.sin(l.angle());
    final double step = 1.0 / SUPERSAMPLE;
    final double samples = SUPERSAMPLE * SUPERSAMPLE;
    final double jitter = 0.2 * noise;
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int hits = 0;
        for (int sy = 0; sy < SUPERSAMPLE; sy++) {
          for (int sx = 0; sx < SUPERSAMPLE; sx++) {
            // Inverse map: image point -> shape frame (unrotated, radius 1).
            final double dx = (x + (sx + 0.5) * step - l.centreX()) / l.radius();
            final double dy = (y + (sy + 0.5) * step - l.centreY()) / l.radius();
            if (l.kind().contains(cos * dx + sin * dy, -sin * dx + cos * dy)) {
              hits++;
            }
          }
        }
        final double coverage = hits / samples;
        final double shade =
            l.gradientX() * (x + 0.5 - w / 2.0) + l.gradientY() * (y + 0.5 - h / 2.0);
        final int at = (y * w + x) * channels;
        for (int c = 0; c < channels; c++) {
          final double bg = l.background()[c] + shade;
          double v = bg + coverage * (l.foreground()[c] - bg);
          if (jitter > 0) {
            v += jitter * (2 * random.nextDouble() - 1);
          }
          pixelsHwc[at + c] = (float) StrictMath.min(1.0, StrictMath.max(0.0, v));
        }
      }
    }
    labels[labelOffset] = l.kind().ordinal();
  }

  @Override
  public String describe() {
    return "shapes(seed="
        + seed
        + ", n="
        + size
        + ", "
        + shape
        + ", classes="
        + classes
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

  /** Options for a {@link ShapesDataset}, validated once in {@link #build()}. */
  public static final class Builder {
    private long seed;
    private int size = 10_000;
    private int height = 32;
    private int width = 32;
    private int channels = 3;
    private int classes = Kind.values().length;
    private double noise = 0.5;

    private Builder() {}

    /** Seed of every sample (default 0). */
    public Builder seed(final long seed) {
      this.seed = seed;
      return this;
    }

    /** Number of samples (default 10000). */
    public Builder size(final int size) {
      this.size = size;
      return this;
    }

    /** Image height in pixels (default 32, at least {@link #MIN_SIDE}). */
    public Builder height(final int height) {
      this.height = height;
      return this;
    }

    /** Image width in pixels (default 32, at least {@link #MIN_SIDE}). */
    public Builder width(final int width) {
      this.width = width;
      return this;
    }

    /** 3 (RGB, default) or 1 (gray). */
    public Builder channels(final int channels) {
      this.channels = channels;
      return this;
    }

    /** Number of classes = the first this many {@link Kind}s (default 10, at least 2). */
    public Builder classes(final int classes) {
      this.classes = classes;
      return this;
    }

    /** Noise level in [0, 1] (default 0.5); 0 is two clean colours. */
    public Builder noise(final double noise) {
      this.noise = noise;
      return this;
    }

    /**
     * Validates the options and builds the dataset.
     *
     * @throws IllegalArgumentException naming the first invalid option, its value and the range
     */
    public ShapesDataset build() {
      if (size <= 0) {
        throw new IllegalArgumentException("shapes size must be > 0, got " + size);
      }
      if (height < MIN_SIDE || width < MIN_SIDE) {
        throw new IllegalArgumentException(
            "shapes height and width must be >= " + MIN_SIDE + ", got " + height + "x" + width);
      }
      if ((long) height * width * channels > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            "shapes image " + height + "x" + width + "x" + channels + " is too large");
      }
      if (channels != 1 && channels != 3) {
        throw new IllegalArgumentException(
            "shapes channels must be 1 (gray) or 3 (RGB), got " + channels);
      }
      if (classes < 2 || classes > Kind.values().length) {
        throw new IllegalArgumentException(
            "shapes classes must be in 2.." + Kind.values().length + ", got " + classes);
      }
      if (!(noise >= 0.0 && noise <= 1.0)) {
        throw new IllegalArgumentException("shapes noise must be in [0, 1], got " + noise);
      }
      return new ShapesDataset(this);
    }
  }
}
