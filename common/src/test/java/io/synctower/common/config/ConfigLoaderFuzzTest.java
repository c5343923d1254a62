package io.synctower.common.config;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Random and mutated configurations through {@link ConfigLoader}: every input either gives a
 * configuration or a {@link ConfigException}; nothing else escapes (no ClassCastException,
 * NullPointerException, YAML parser exception or stack overflow). A configuration that is accepted
 * must read back from its resolved YAML.
 *
 * <p>The seeds are the shipped configs ({@code configs/*.yaml}, {@code configs/seeds/*.yaml}).
 * Iterations: system property {@code synctower.fuzz.iterations} (default 2000, seconds; the {@code
 * fuzz} Maven profile runs 100,000); seed: {@code synctower.fuzz.seed}.
 */
class ConfigLoaderFuzzTest {
  private static final int ITERATIONS = Integer.getInteger("synctower.fuzz.iterations", 2000);
  private static final long SEED = Long.getLong("synctower.fuzz.seed", 20261205L);

  /** Fragments that YAML and the loader treat specially. */
  private static final String[] TOKENS = {
    ":",
    ": ",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "? ",
    "~",
    "null",
    "&a ",
    "*a",
    "<<: *a",
    "!!binary ",
    "!!set ",
    "!!map ",
    "!!str ",
    "!!int ",
    "!!float ",
    "!!timestamp ",
    "!!python/object ",
    "|",
    ">",
    "'",
    "\"",
    "#",
    "\n",
    "\n  ",
    "\t",
    "\0",
    "\\0",
    "\"\\0\"",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    "1",
    "-1",
    "0",
    "1e309",
    ".nan",
    ".inf",
    "-.inf",
    "9223372036854775808",
    "2147483648",
    "0x10",
    "true",
    "yes",
    "2020-01-01",
    "1:2",
    "[1",
    "{a: 1, a: 2}",
    "..",
    "../x",
    "/",
    "é",
    "\uFEFF",
    "\uD800",
    "type",
    "layers",
    "model",
    "data",
    "train",
    "std",
    "mean",
    "values",
    "normalize",
    "units",
    "filters",
    "kernel",
    "shape",
    "name",
    "seed",
    "towers",
    "lr",
    "optimizer",
    "sgd",
    "adam",
    "dense",
    "conv2d",
    "reshape",
    "batchnorm",
    "captcha",
    "npz",
    "idx",
    "images",
    "training",
    "batchSize",
    "bn",
    "decay",
    "momentum",
    "failure",
    "stepDeadline",
    "10s",
    "-5ms",
    "checkpoint",
    "every",
    "defaulted",
    "[lr]",
    "[4, 62]",
    "[0.2, 0, 0.2]"
  };

  private static final String[] OVERRIDE_KEYS = {
    "seed",
    "name",
    "towers",
    "training.optimizer.lr",
    "data.std",
    "model",
    "model.layers",
    ".",
    "a..b",
    "training",
    "bn.decay",
    "data.train.type",
    "x.y.z",
    ""
  };

  @Test
  void everyInputParsesOrIsAConfigException() throws Exception {
    final List<String> seeds = seeds();
    assertFalse(seeds.isEmpty());
    final Random random = new Random(SEED);
    int accepted = 0;
    for (int i = 0; i < ITERATIONS; i++) {
      final String text =
          random.nextInt(10) == 0
              ? randomText(random)
              : mutate(seeds.get(random.nextInt(seeds.size())), random);
      final Map<String, String> overrides = new LinkedHashMap<>();
      if (random.nextInt(4) == 0) {
        overrides.put(
            pick(OVERRIDE_KEYS, random), randomText(random).lines().findFirst().orElse(""));
      }
      if (parses(text, overrides, i)) {
        accepted++;
      }
    }
    // The mutations must not all be fatal, or only the error paths would be exercised.
    assertTrue(accepted > 0, "no mutated config was accepted");
  }

  /** Whether {@code text} was accepted; fails the test for anything but a ConfigException. */
  private static boolean parses(
      final String text, final Map<String, String> overrides, final int iteration) {
    final RunConfig config;
    try {
      config = ConfigLoader.parse(text, "fuzz", overrides);
    } catch (ConfigException e) {
      assertFalse(e.problems().isEmpty());
      return false;
    } catch (Throwable t) {
      throw new AssertionError(failure(text, overrides, iteration, t), t);
    }
    final String yaml = ConfigLoader.toYaml(config);
    try {
      ConfigLoader.parse(yaml, "resolved", Map.of());
    } catch (Throwable t) {
      fail(failure(text, overrides, iteration, t) + "\nresolved:\n" + yaml, t);
    }
    return true;
  }

  private static String failure(
      final String text,
      final Map<String, String> overrides,
      final int iteration,
      final Throwable t) {
    return "iteration "
        + iteration
        + " (seed "
        + SEED
        + "): "
        + t
        + "\noverrides: "
        + overrides
        + "\ninput (Java escapes):\n"
        + escape(text);
  }

  private static String escape(final String s) {
    final StringBuilder b = new StringBuilder();
    for (final char c : s.toCharArray()) {
      if (c == '\n' || (c >= 0x20 && c < 0x7f)) {
        b.append(c);
      } else {
        b.append(String.format("\\u%04x", (int) c));
      }
    }
    return b.toString();
  }

  private static List<String> seeds() throws Exception {
    final Path configs = Path.of("..", "configs");
    try (Stream<Path> files =
        Stream.concat(Files.list(configs), Files.list(configs.resolve("seeds")))) {
      final List<String> texts = new ArrayList<>();
      for (final Path p : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
        texts.add(Files.readString(p));
      }
      return texts;
    }
  }

  private static String pick(final String[] from, final Random random) {
    return from[random.nextInt(from.length)];
  }

  private static String randomText(final Random random) {
    final StringBuilder b = new StringBuilder();
    final int n = random.nextInt(30);
    for (int i = 0; i < n; i++) {
      if (random.nextBoolean()) {
        b.append(pick(TOKENS, random));
      } else {
        b.append((char) (random.nextBoolean() ? 32 + random.nextInt(95) : random.nextInt(0x3000)));
      }
    }
    return b.toString();
  }

  /** One to four edits of a valid config: at a character, a line, or a scalar. */
  private static String mutate(final String seed, final Random random) {
    String s = seed;
    final int edits = 1 + random.nextInt(4);
    for (int e = 0; e < edits; e++) {
      final int at = s.isEmpty() ? 0 : random.nextInt(s.length());
      final List<String> lines = new ArrayList<>(Arrays.asList(s.split("\n", -1)));
      final int line = random.nextInt(lines.size());
      s =
          switch (random.nextInt(8)) {
            case 0 -> s.substring(0, at) + pick(TOKENS, random) + s.substring(at);
            case 1 ->
                s.substring(0, at) + s.substring(Math.min(s.length(), at + 1 + random.nextInt(8)));
            case 2 -> { // duplicate a line (duplicate keys, repeated list entries)
              lines.add(line, lines.get(line));
              yield String.join("\n", lines);
            }
            case 3 -> { // swap two lines
              final int other = random.nextInt(lines.size());
              final String l = lines.get(line);
              lines.set(line, lines.get(other));
              lines.set(other, l);
              yield String.join("\n", lines);
            }
            case 4 -> { // replace the value after a colon
              final String l = lines.get(line);
              final int colon = l.indexOf(": ");
              lines.set(line, colon < 0 ? l : l.substring(0, colon + 2) + pick(TOKENS, random));
              yield String.join("\n", lines);
            }
            case 5 -> s.substring(0, at); // cut off
            case 6 -> s.substring(0, at) + (char) random.nextInt(0x10000) + s.substring(at);
            default -> { // re-indent a line
              lines.set(line, " ".repeat(random.nextInt(5)) + lines.get(line).stripLeading());
              yield String.join("\n", lines);
            }
          };
    }
    return s;
  }
}
