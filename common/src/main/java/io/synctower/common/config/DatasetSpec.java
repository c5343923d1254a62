package io.synctower.common.config;

import io.synctower.common.data.CaptchaDataset;

/**
 * Which dataset to load and its options; only the fields of its {@code type} are meaningful.
 *
 * @param type captcha | overfit | idx | npz | images
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
    int classes) {}
