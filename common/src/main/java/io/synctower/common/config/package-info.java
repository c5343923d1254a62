/**
 * The run configuration, read strictly once, and what is built directly from it.
 *
 * <p>What lives here: {@link io.synctower.common.config.ConfigLoader}, which reads YAML ({@link
 * io.synctower.common.config.StrictYaml}: no duplicate keys, only safe types) through {@link
 * io.synctower.common.config.ConfigNode} and command-line {@link
 * io.synctower.common.config.Overrides} into a validated {@link
 * io.synctower.common.config.RunConfig}, reporting every problem at once in a {@link
 * io.synctower.common.config.ConfigException} (key, value, fix); and the factories that turn the
 * config's specs into objects: {@link io.synctower.common.config.ModelFactory} (layer specs to a
 * {@link io.synctower.common.nn.Model}, checking that shapes flow) and {@link
 * io.synctower.common.config.DatasetFactory}; and {@link io.synctower.common.config.ResNetPresets},
 * the layer specs of the ResNets a {@code model.preset} names (read by {@code PresetReader}).
 *
 * <pre>{@code
 * RunConfig config = ConfigLoader.load(path, overrides);   // throws ConfigException, all problems
 * Model model = ModelFactory.build(config.model().layers(), inputShape, config.model().dtype(),
 *     config.bn().decay(), config.bn().epsilon());
 * }</pre>
 *
 * <p>What must not live here: anything that runs (training, towers, threads, transport) and any
 * reading of the environment or of files other than the configuration and the datasets it names.
 * After loading, code trusts a {@code RunConfig}'s values and does not re-validate or re-parse
 * them. This package sits above {@code nn}, {@code bn}, {@code optim} and {@code data}, whose specs
 * it assembles; none of them depends on it.
 */
package io.synctower.common.config;
