/**
 * What both frame formats share: the codec-aware clear prefix ({@link dev.veil.e2ee.codec.ClearPrefixPolicy},
 * {@link dev.veil.e2ee.codec.Codec}, {@link dev.veil.e2ee.codec.FrameType}) and the decrypt outcome
 * ({@link dev.veil.e2ee.codec.DecryptResult}, {@link dev.veil.e2ee.codec.Rejection}).
 */
package dev.veil.e2ee.codec;
