/**
 * A tower: one model replica bound to one device and the training step it executes. Device binding,
 * the cross-tower collective and the Aeron endpoint live here; the numerics come from {@code
 * io.synctower.common}.
 */
package io.synctower.worker;
