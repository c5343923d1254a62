package io.synctower.common.config;

import io.synctower.common.nn.LayerSpec;
import io.synctower.common.nn.Padding;
import io.synctower.common.nn.ParamSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * ResNets by name ({@code model.preset}): the layer specs of He et al. 2016's residual networks,
 * named so that the built model's tensors are keyed exactly like torchvision's {@code state_dict}
 * ({@code conv1.weight}, {@code layer1.0.bn1.running_var}, {@code layer2.0.downsample.0.weight},
 * {@code fc.bias}; only {@code num_batches_tracked} has no counterpart).
 *
 * <pre>{@code
 * List<LayerSpec> specs = ResNetPresets.layers(Preset.RESNET20,
 *     new Options(10, Preset.RESNET20.defaultWidth(), false, PYTORCH_BN_DECAY, PYTORCH_BN_EPSILON));
 * Model model = ModelFactory.build(specs, Shape.image(32, 32, 3), dtype, bnDecay, bnEpsilon);
 * }</pre>
 *
 * <p>Topology, with w the base width:
 *
 * <ul>
 *   <li>ImageNet stem ({@code resnet18/34/50}, torchvision): {@code conv1} 7x7 stride 2 padding 3
 *       (w filters, no bias), {@code bn1}, {@code relu}, {@code maxpool} 3x3 stride 2 padding 1;
 *       four stages {@code layer1..layer4} of w, 2w, 4w, 8w planes, stride 2 in the first block of
 *       stages 2 to 4.
 *   <li>CIFAR stem ({@code resnet20/56}, He et al. 2016 sec. 4.2): {@code conv1} 3x3 stride 1
 *       padding 1 (w filters, no bias), {@code bn1}, {@code relu}, no max pooling; three stages of
 *       w, 2w, 4w planes (16, 32, 64 at the default width), stride 2 in the first block of stages 2
 *       and 3.
 *   <li>Basic block ({@code layer<i>.<j>}): {@code conv1} 3x3 (the stage's stride), {@code bn1},
 *       ReLU, {@code conv2} 3x3, {@code bn2}; add; ReLU. Bottleneck (expansion 4, torchvision's
 *       "v1.5": the stride is on the 3x3 {@code conv2}, not on {@code conv1} as in the paper):
 *       {@code conv1} 1x1, {@code bn1}, ReLU, {@code conv2} 3x3, {@code bn2}, ReLU, {@code conv3}
 *       1x1 to 4 x planes, {@code bn3}; add; ReLU.
 *   <li>Shortcut: the identity, or where the stride or the channel count changes a projection
 *       {@code downsample.0} (1x1 conv with the stride, no bias) and {@code downsample.1} (BN). The
 *       paper's CIFAR nets used option A (identity with zero-padded channels, no parameters); these
 *       use option B (the projection) everywhere the shape changes, as torchvision-style code does,
 *       so they have a few more parameters (resnet20: 272,474 rather than 269,722).
 *   <li>Head: {@code avgpool} (global average pooling), {@code fc} (dense with bias).
 * </ul>
 *
 * <p>Initialization: convolutions He normal over fan-in ({@code std = sqrt(2 / (k*k*in))});
 * torchvision uses fan-out ({@code kaiming_normal_(mode="fan_out")}), a difference of scale only
 * for layers whose input and output widths differ, and irrelevant once BN normalizes. {@code fc}
 * Glorot uniform (torchvision: PyTorch's default Linear init). BN gamma 1 and beta 0, except under
 * {@link Options#zeroInitResidual} the last BN of every block ({@code bn2}, {@code bn3} in a
 * bottleneck) starts at gamma 0 (Goyal et al. 2017), so every block starts as its shortcut.
 */
public final class ResNetPresets {
  /** PyTorch's BN momentum 0.1 in SyncTower's convention (weight of the old value). */
  public static final double PYTORCH_BN_DECAY = 0.9;

  /** PyTorch's BN epsilon. */
  public static final double PYTORCH_BN_EPSILON = 1e-5;

  private ResNetPresets() {}

  /** Where a network starts: the resolution it expects and so how fast it reduces it. */
  public enum Stem {
    /** 7x7 stride-2 conv and 3x3 stride-2 max pooling: 224x224 inputs reduced by 4. */
    IMAGENET(64),
    /** One 3x3 stride-1 conv: 32x32 inputs kept at full resolution. */
    CIFAR(16);

    private final int defaultWidth;

    Stem(final int defaultWidth) {
      this.defaultWidth = defaultWidth;
    }
  }

  /** The two residual block kinds of He et al. 2016. */
  public enum Block {
    /** Two 3x3 convs; output channels = planes. */
    BASIC(1),
    /** 1x1, 3x3, 1x1 convs; output channels = 4 x planes. */
    BOTTLENECK(4);

    private final int expansion;

    Block(final int expansion) {
      this.expansion = expansion;
    }

    /** Output channels per plane. */
    public int expansion() {
      return expansion;
    }
  }

  /** The networks {@code model.preset} names. */
  public enum Preset {
    RESNET18(Stem.IMAGENET, Block.BASIC, 2, 2, 2, 2),
    RESNET34(Stem.IMAGENET, Block.BASIC, 3, 4, 6, 3),
    RESNET50(Stem.IMAGENET, Block.BOTTLENECK, 3, 4, 6, 3),
    RESNET20(Stem.CIFAR, Block.BASIC, 3, 3, 3),
    RESNET56(Stem.CIFAR, Block.BASIC, 9, 9, 9);

    private final Stem stem;
    private final Block block;
    private final int[] blocks;

    Preset(final Stem stem, final Block block, final int... blocks) {
      this.stem = stem;
      this.block = block;
      this.blocks = blocks;
    }

    /** The name a configuration gives it ({@code resnet20}). */
    public String configName() {
      return name().toLowerCase(Locale.ROOT);
    }

    public Stem stem() {
      return stem;
    }

    public Block block() {
      return block;
    }

    /** Blocks per stage, first stage first. */
    public int[] blocksPerStage() {
      return blocks.clone();
    }

    /** The base width when the configuration gives none: 64 (ImageNet stem) or 16 (CIFAR). */
    public int defaultWidth() {
      return stem.defaultWidth;
    }

    /** The preset a configuration names (case-insensitive), if any. */
    public static Optional<Preset> named(final String name) {
      return Arrays.stream(values()).filter(p -> p.configName().equalsIgnoreCase(name)).findFirst();
    }

    /** Every configuration name, in declaration order. */
    public static List<String> configNames() {
      return Arrays.stream(values()).map(Preset::configName).toList();
    }
  }

  /**
   * What a configuration chooses of a preset.
   *
   * @param classes units of {@code fc}
   * @param width the base width: the stem's filters and the first stage's planes (later stages
   *     double it); {@link Preset#defaultWidth()} gives the published networks
   * @param zeroInitResidual start the last BN of every block at gamma 0 (Goyal et al. 2017)
   * @param bnDecay every BN layer's decay; NaN for the {@code bn:} section's
   * @param bnEpsilon every BN layer's epsilon; NaN for the {@code bn:} section's
   */
  public record Options(
      int classes, int width, boolean zeroInitResidual, double bnDecay, double bnEpsilon) {
    public Options {
      if (classes < 1) {
        throw new IllegalArgumentException("classes must be >= 1, got " + classes);
      }
      if (width < 1) {
        throw new IllegalArgumentException("width must be >= 1, got " + width);
      }
    }
  }

  /** The preset's layer specs, stem to {@code fc}; block specs are {@link LayerSpec.Residual}. */
  public static List<LayerSpec> layers(final Preset preset, final Options options) {
    return new Assembly(preset, options).layers();
  }

  /** Builds one network's spec list, tracking the channel count between blocks. */
  private static final class Assembly {
    private final Preset preset;
    private final Options options;
    private final List<LayerSpec> out = new ArrayList<>();
    private int channels;

    Assembly(final Preset preset, final Options options) {
      this.preset = preset;
      this.options = options;
    }

    List<LayerSpec> layers() {
      final int width = options.width();
      if (preset.stem == Stem.IMAGENET) {
        out.add(conv("conv1", width, 7, 2, 3));
        out.add(bn("bn1", false));
        out.add(new LayerSpec.Relu("relu"));
        out.add(new LayerSpec.MaxPool("maxpool", 3, 2, 1));
      } else {
        out.add(conv("conv1", width, 3, 1, 1));
        out.add(bn("bn1", false));
        out.add(new LayerSpec.Relu("relu"));
      }
      channels = width;
      for (int stage = 0; stage < preset.blocks.length; stage++) {
        final int planes = width << stage;
        for (int j = 0; j < preset.blocks[stage]; j++) {
          final int stride = stage > 0 && j == 0 ? 2 : 1;
          out.add(block("layer" + (stage + 1) + "." + j, planes, stride));
        }
      }
      out.add(new LayerSpec.GlobalAvgPool("avgpool"));
      out.add(
          new LayerSpec.Dense("fc", options.classes(), true, ParamSpec.Init.GLOROT_UNIFORM, true));
      return List.copyOf(out);
    }

    private LayerSpec block(final String name, final int planes, final int stride) {
      final int outChannels = planes * preset.block.expansion;
      final List<LayerSpec> main =
          preset.block == Block.BASIC
              ? List.of(
                  conv("conv1", planes, 3, stride, 1),
                  bn("bn1", false),
                  new LayerSpec.Relu("relu1"),
                  conv("conv2", planes, 3, 1, 1),
                  bn("bn2", true))
              : List.of(
                  conv("conv1", planes, 1, 1, 0),
                  bn("bn1", false),
                  new LayerSpec.Relu("relu1"),
                  conv("conv2", planes, 3, stride, 1),
                  bn("bn2", false),
                  new LayerSpec.Relu("relu2"),
                  conv("conv3", outChannels, 1, 1, 0),
                  bn("bn3", true));
      final List<LayerSpec> shortcut =
          stride != 1 || channels != outChannels
              ? List.of(conv("downsample.0", outChannels, 1, stride, 0), bn("downsample.1", false))
              : List.of();
      channels = outChannels;
      return new LayerSpec.Residual(name, main, shortcut, true);
    }

    /** A conv as torchvision's: no bias (a BN follows), PyTorch's symmetric padding. */
    private static LayerSpec conv(
        final String name, final int filters, final int kernel, final int stride, final int pad) {
      return new LayerSpec.Conv2d(
          name,
          filters,
          kernel,
          stride,
          pad == 0 ? Padding.VALID : Padding.explicit(pad), // as the config reads padding: 0
          false,
          ParamSpec.Init.HE_NORMAL,
          true);
    }

    private LayerSpec bn(final String name, final boolean lastOfBlock) {
      return new LayerSpec.BatchNorm(
          name,
          options.bnDecay(),
          options.bnEpsilon(),
          true,
          lastOfBlock && options.zeroInitResidual() ? ParamSpec.Init.ZEROS : ParamSpec.Init.ONES);
    }
  }
}
