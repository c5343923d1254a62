/**
 * Training data: the {@link io.synctower.common.data.Dataset} contract, its sources, and the
 * machinery that turns samples into batch tensors.
 *
 * <ul>
 *   <li>Sources: synthetic ({@link io.synctower.common.data.CaptchaDataset}, {@link
 *       io.synctower.common.data.OverfitDataset}, {@link io.synctower.common.data.ShapesDataset})
 *       and file formats ({@link io.synctower.common.data.IdxDataset}, {@link
 *       io.synctower.common.data.NpzDataset}, {@link io.synctower.common.data.ImageFolderDataset},
 *       {@link io.synctower.common.data.CifarDataset}), with the {@code .npy}/{@code .npz} codec
 *       ({@link io.synctower.common.data.Npy}, {@link io.synctower.common.data.Npz}).
 *   <li>Order and views: {@link io.synctower.common.data.EpochPermutation}, {@link
 *       io.synctower.common.data.Subset}, {@link io.synctower.common.data.Split}, {@link
 *       io.synctower.common.data.BatchPlan}, {@link io.synctower.common.data.Normalization}.
 *   <li>Augmentation of training batches: {@link io.synctower.common.data.Augmentation} (random
 *       crop with zero padding, horizontal flip) and {@link
 *       io.synctower.common.data.AugmentedEpoch} (its draws, a pure function of seed, epoch and
 *       sample index).
 *   <li>Batches: {@link io.synctower.common.data.BatchAssembler} writes samples into a preallocated
 *       tensor; {@link io.synctower.common.data.Prefetcher} does so one batch ahead.
 * </ul>
 *
 * <p>What must not live here: no threads except the {@code Prefetcher}'s worker; no ND4J except in
 * {@code BatchAssembler}, {@code Prefetcher} and {@code Batch} (sources work on plain arrays so
 * they can be tested and reused without natives); no transport or model code. Every sample is a
 * pure function of its index, identical on every machine, and every error names the source, the
 * index or offset, and what was expected.
 */
package io.synctower.common.data;
