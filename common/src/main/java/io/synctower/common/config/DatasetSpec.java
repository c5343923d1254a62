package io.synctower.common.config;

import io.synctower.common.data.CaptchaDataset;

/**
 * Which dataset to load and its options; only the fields of its {@code type} are meaningful.
 *
 * @param type captcha | overfit | shapes | idx | npz | images | cifar10 | cifar100
 * @param labels the labels file (idx); which label is the class (cifar100: fine | coarse)
 * @param split the predefined split of a file set (cifar10, cifar100: train | test)
 */
public record DatasetSpec(
    String type,
    long seed,
    int size,
    int height,
    int width,
    int channels,
    int length,
    CaptchaDataset.Charset charset,
    double noise,
    String path,
    String labels,
    int classes,
    String split) {}
