package io.synctower.common.config;

import io.synctower.common.data.CachedDataset;
import io.synctower.common.data.CaptchaDataset;
import io.synctower.common.data.CifarDataset;
import io.synctower.common.data.Dataset;
import io.synctower.common.data.IdxDataset;
import io.synctower.common.data.ImageFolderDataset;
import io.synctower.common.data.NpzDataset;
import io.synctower.common.data.OverfitDataset;
import io.synctower.common.data.ShapesDataset;
import java.nio.file.Path;

/**
 * Creates the dataset a {@link DatasetSpec} describes; relative paths resolve against {@code base}.
 * The synthetic sets, which render each sample from its index, are cached in memory when they fit
 * ({@link CachedDataset}): every epoch after the first copies instead of rendering.
 */
public final class DatasetFactory {
  private DatasetFactory() {}

  public static Dataset create(final DatasetSpec spec, final Path base) {
    return switch (spec.type()) {
      case "captcha" ->
          cached(
              CaptchaDataset.builder()
                  .seed(spec.seed())
                  .size(spec.size())
                  .height(spec.height())
                  .width(spec.width())
                  .length(spec.length())
                  .charset(spec.charset())
                  .noise(spec.noise())
                  .build());
      case "overfit" -> new OverfitDataset(spec.size());
      case "shapes" ->
          cached(
              ShapesDataset.builder()
                  .seed(spec.seed())
                  .size(spec.size())
                  .height(spec.height())
                  .width(spec.width())
                  .channels(spec.channels())
                  .classes(spec.classes())
                  .noise(spec.noise())
                  .build());
      case "cifar10" ->
          new CifarDataset(
              resolve(base, spec.path()),
              CifarDataset.Variant.CIFAR10,
              part(spec),
              CifarDataset.Labels.FINE,
              spec.size());
      case "cifar100" ->
          new CifarDataset(
              resolve(base, spec.path()),
              CifarDataset.Variant.CIFAR100,
              part(spec),
              "coarse".equals(spec.labels())
                  ? CifarDataset.Labels.COARSE
                  : CifarDataset.Labels.FINE,
              spec.size());
      case "idx" ->
          new IdxDataset(resolve(base, spec.path()), resolve(base, spec.labels()), spec.classes());
      case "npz" ->
          spec.classes() > 0
              ? new NpzDataset(resolve(base, spec.path()), spec.classes())
              : new NpzDataset(resolve(base, spec.path()));
      case "images" ->
          new ImageFolderDataset(
              resolve(base, spec.path()), spec.channels(), spec.height(), spec.width());
      default -> throw new IllegalArgumentException("unknown dataset type " + spec.type());
    };
  }

  private static Dataset cached(final Dataset rendered) {
    return CachedDataset.ifItFits(rendered, CachedDataset.budgetBytes());
  }

  private static CifarDataset.Part part(final DatasetSpec spec) {
    return "test".equals(spec.split()) ? CifarDataset.Part.TEST : CifarDataset.Part.TRAIN;
  }

  private static Path resolve(final Path base, final String path) {
    final Path p = Path.of(path);
    return p.isAbsolute() || base == null ? p : base.resolve(p);
  }
}
