package io.synctower.coordinator.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Slurm hostlist expressions: expansion order, zero padding, first host, and error messages. */
class HostListTest {

  @Test
  void singleHostIsItself() {
    assertEquals(List.of("node01"), HostList.expand("node01"));
    assertEquals("node01", HostList.first("node01"));
  }

  @Test
  void rangesAndSinglesInOneGroupKeepTheirZeroPadding() {
    assertEquals(
        List.of("node01", "node02", "node03", "node04", "node07"),
        HostList.expand("node[01-04,07]"));
    assertEquals("node01", HostList.first("node[01-04,07]"));
  }

  @Test
  void paddingFollowsTheLowerBoundsDigits() {
    assertEquals(List.of("n8", "n9", "n10"), HostList.expand("n[8-10]"));
    assertEquals(List.of("n08", "n09", "n10"), HostList.expand("n[08-10]"));
    assertEquals(List.of("n098", "n099", "n100"), HostList.expand("n[098-100]"));
  }

  @Test
  void textAfterAGroupIsKept() {
    assertEquals(List.of("gpu1-ib", "gpu2-ib", "gpu3-ib"), HostList.expand("gpu[1-3]-ib"));
    assertEquals("gpu1-ib", HostList.first("gpu[1-3]-ib"));
  }

  @Test
  void commasBetweenHostsSeparateHostsAndCommasInBracketsSeparateRanges() {
    assertEquals(List.of("a1", "a2", "b5", "b6"), HostList.expand("a[1-2],b[5-6]"));
    assertEquals(List.of("n1", "n3", "login", "m2"), HostList.expand("n[1,3],login,m2"));
    assertEquals("a1", HostList.first("a[1-2],b[5-6]"));
  }

  @Test
  void severalGroupsExpandAsACartesianProductWithTheRightmostFastest() {
    assertEquals(
        List.of("rack1-node01", "rack1-node02", "rack2-node01", "rack2-node02"),
        HostList.expand("rack[1-2]-node[01-02]"));
    assertEquals("rack1-node01", HostList.first("rack[1-2]-node[01-02]"));
  }

  @Test
  void firstTakesTheFirstItemOfEachGroupAsWritten() {
    assertEquals("x3y5", HostList.first("x[3,1-2]y[5-6]"));
    assertEquals(
        List.of("x3y5", "x3y6", "x1y5", "x1y6", "x2y5", "x2y6"), HostList.expand("x[3,1-2]y[5-6]"));
  }

  @Test
  void firstDoesNotExpandAHugeList() {
    assertEquals("node0", HostList.first("node[0-999999999999]"));
    final IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> HostList.expand("node[0-999999999999]"));
    assertTrue(e.getMessage().contains("node[0-999999999999]"), e.getMessage());
    assertTrue(e.getMessage().contains(String.valueOf(HostList.MAX_HOSTS)), e.getMessage());
  }

  @Test
  void surroundingWhitespaceIsIgnored() {
    assertEquals(List.of("a1", "a2"), HostList.expand(" a[1-2]\n"));
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "''                | is empty",
        "node[             | without a closing ']'",
        "node]             | without an opening '['",
        "node[]            | empty brackets",
        "node[3-1]         | runs backwards; write the smaller number first, e.g. [1-3]",
        "node[a-b]         | expected a number or a range",
        "node[1-]          | expected a number or a range",
        "node[-1]          | expected a number or a range",
        "node[1,,2]        | empty range in brackets",
        "'a,,b'            | empty host name at position 2",
        "',a'              | empty host name at position 0",
        "'a,'              | trailing comma",
        "node[1-2[3]]      | groups do not nest",
        "bad host          | has ' ' at position 3",
        "node[1-2]/x       | has '/' at position 9",
        "n[1234567890123456789] | at most 18 digits",
      })
  void malformedExpressionsAreRejectedWithTheExpressionAndTheFix(
      final String expression, final String fix) {
    final IllegalArgumentException first =
        assertThrows(IllegalArgumentException.class, () -> HostList.first(expression));
    final IllegalArgumentException all =
        assertThrows(IllegalArgumentException.class, () -> HostList.expand(expression));
    for (final IllegalArgumentException e : List.of(first, all)) {
      assertTrue(
          e.getMessage().startsWith("hostlist \"" + expression.strip() + "\""), e.getMessage());
      assertTrue(e.getMessage().contains(fix), e.getMessage());
    }
  }

  @Test
  void laterHostsAreCheckedEvenByFirst() {
    final IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> HostList.first("ok01,bad[2-1]"));
    assertTrue(e.getMessage().contains("runs backwards"), e.getMessage());
  }
}
