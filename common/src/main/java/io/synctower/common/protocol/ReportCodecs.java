package io.synctower.common.protocol;

import static io.synctower.common.protocol.VarData.ORDER;
import static io.synctower.common.protocol.VarData.putText;
import static io.synctower.common.protocol.VarData.textLength;

import io.synctower.common.metrics.MetricSums;
import io.synctower.common.metrics.PhaseTimes;
import io.synctower.common.protocol.sbe.BnRecalibratedDecoder;
import io.synctower.common.protocol.sbe.BnRecalibratedEncoder;
import io.synctower.common.protocol.sbe.CheckpointDoneDecoder;
import io.synctower.common.protocol.sbe.CheckpointDoneEncoder;
import io.synctower.common.protocol.sbe.EvaluationDoneDecoder;
import io.synctower.common.protocol.sbe.EvaluationDoneEncoder;
import io.synctower.common.protocol.sbe.FailedDecoder;
import io.synctower.common.protocol.sbe.FailedEncoder;
import io.synctower.common.protocol.sbe.FailureCause;
import io.synctower.common.protocol.sbe.MessageHeaderEncoder;
import io.synctower.common.protocol.sbe.StepDoneDecoder;
import io.synctower.common.protocol.sbe.StepDoneEncoder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Worker to coordinator: the {@link Report}s, one codec each, all tagged, each sent by the tower
 * whose {@link Report#rank()} it carries.
 */
final class ReportCodecs {
  private static final Report.Cause[] CAUSES = Report.Cause.values();

  /** The schema's FailureCause of each Report.Cause, by ordinal; matched by name. */
  private static final FailureCause[] CAUSE_CODES = new FailureCause[CAUSES.length];

  static {
    for (final Report.Cause cause : CAUSES) {
      try {
        CAUSE_CODES[cause.ordinal()] = FailureCause.valueOf(cause.name());
      } catch (final IllegalArgumentException e) {
        throw new IllegalStateException(
            "synctower.xml's FailureCause lacks Report.Cause." + cause + ": add it", e);
      }
    }
  }

  private ReportCodecs() {}

  /** A fresh codec of every report, for one thread. */
  static List<MessageCodec<?>> create() {
    return List.of(
        new StepDoneCodec(),
        new EvaluationDoneCodec(),
        new FailedCodec(),
        new CheckpointDoneCodec(),
        new PreciseBnDoneCodec());
  }

  /** What every report shares: tagged, sent by its rank. */
  private abstract static class ReportCodec<R extends Report> extends MessageCodec<R> {
    ReportCodec(
        final Class<R> type, final String schemaName, final int templateId, final int blockLength) {
      super(type, schemaName, templateId, blockLength, true);
    }

    @Override
    final int sender(final R m) {
      return m.rank();
    }
  }

  static final class StepDoneCodec extends ReportCodec<Report.StepDone> {
    private final StepDoneEncoder encoder = new StepDoneEncoder();
    private final StepDoneDecoder decoder = new StepDoneDecoder();

    StepDoneCodec() {
      super(
          Report.StepDone.class,
          "StepDone",
          StepDoneDecoder.TEMPLATE_ID,
          StepDoneDecoder.BLOCK_LENGTH);
    }

    @Override
    long length(final Report.StepDone m) {
      final long samples = m.sums().samples();
      if ((int) samples != samples) {
        throw new IllegalArgumentException(
            "Report.StepDone.sums.samples is "
                + samples
                + "; a step's shard travels as an int32 count");
      }
      return StepDoneEncoder.BLOCK_LENGTH
          + (long) textLength(m.nonFinite(), "Report.StepDone.nonFinite");
    }

    @Override
    int write(
        final Report.StepDone m,
        final long seq,
        final int sender,
        final MutableDirectBuffer buffer,
        final int offset,
        final MessageHeaderEncoder header) {
      final StepDoneEncoder e =
          encoder
              .wrapAndApplyHeader(buffer, offset, header)
              .runId(m.runId())
              .seq(seq)
              .sender(sender)
              .step(m.step())
              .lossSum(m.sums().lossSum())
              .correctPositions(m.sums().correctPositions())
              .correctSequences(m.sums().correctSequences())
              .samples((int) m.sums().samples())
              .dataWaitNanos(m.times().dataWaitNanos())
              .forwardNanos(m.times().forwardNanos())
              .backwardNanos(m.times().backwardNanos())
              .allReduceNanos(m.times().allReduceNanos())
              .optimizerNanos(m.times().optimizerNanos())
              .replicaHash(m.replicaHash())
              .skipped(bool(m.skipped()))
              .bnReduceNanos(m.times().bnReduceNanos());
      e.limit(putText(buffer, e.limit(), m.nonFinite()));
      return e.encodedLength();
    }

    @Override
    Decoded read(
        final DirectBuffer buffer,
        final int body,
        final int blockLength,
        final int version,
        final VarData.Reader in) {
      final StepDoneDecoder d = decoder.wrap(buffer, body, blockLength, version);
      final short skipped = d.skippedRaw();
      if (!isBoolean(skipped)) {
        return badCode("StepDone.skipped", skipped);
      }
      final String nonFinite = in.text("StepDone.nonFinite");
      if (nonFinite == null) {
        return malformed(in.failure);
      }
      return ok(
          in,
          d.seq(),
          d.sender(),
          new Report.StepDone(
              d.runId(),
              d.sender(),
              d.step(),
              new MetricSums(d.lossSum(), d.correctPositions(), d.correctSequences(), d.samples()),
              new PhaseTimes(
                  d.dataWaitNanos(),
                  d.forwardNanos(),
                  d.backwardNanos(),
                  d.bnReduceNanos(),
                  d.allReduceNanos(),
                  d.optimizerNanos()),
              d.replicaHash(),
              isTrue(skipped),
              nonFinite));
    }
  }

  static final class EvaluationDoneCodec extends ReportCodec<Report.EvaluationDone> {
    private final EvaluationDoneEncoder encoder = new EvaluationDoneEncoder();
    private final EvaluationDoneDecoder decoder = new EvaluationDoneDecoder();

    EvaluationDoneCodec() {
      super(
          Report.EvaluationDone.class,
          "EvaluationDone",
          EvaluationDoneDecoder.TEMPLATE_ID,
          EvaluationDoneDecoder.BLOCK_LENGTH);
    }

    @Override
    long length(final Report.EvaluationDone m) {
      return EvaluationDoneEncoder.BLOCK_LENGTH;
    }

    @Override
    int write(
        final Report.EvaluationDone m,
        final long seq,
        final int sender,
        final MutableDirectBuffer buffer,
        final int offset,
        final MessageHeaderEncoder header) {
      return encoder
          .wrapAndApplyHeader(buffer, offset, header)
          .runId(m.runId())
          .seq(seq)
          .sender(sender)
          .lossSum(m.sums().lossSum())
          .correctPositions(m.sums().correctPositions())
          .correctSequences(m.sums().correctSequences())
          .samples(m.sums().samples())
          .encodedLength();
    }

    @Override
    Decoded read(
        final DirectBuffer buffer,
        final int body,
        final int blockLength,
        final int version,
        final VarData.Reader in) {
      final EvaluationDoneDecoder d = decoder.wrap(buffer, body, blockLength, version);
      return ok(
          in,
          d.seq(),
          d.sender(),
          new Report.EvaluationDone(
              d.runId(),
              d.sender(),
              new MetricSums(
                  d.lossSum(), d.correctPositions(), d.correctSequences(), d.samples())));
    }
  }

  static final class FailedCodec extends ReportCodec<Report.Failed> {
    private final FailedEncoder encoder = new FailedEncoder();
    private final FailedDecoder decoder = new FailedDecoder();

    FailedCodec() {
      super(Report.Failed.class, "Failed", FailedDecoder.TEMPLATE_ID, FailedDecoder.BLOCK_LENGTH);
    }

    @Override
    long length(final Report.Failed m) {
      Objects.requireNonNull(m.cause(), "Report.Failed.cause");
      return FailedEncoder.BLOCK_LENGTH + (long) textLength(m.message(), "Report.Failed.message");
    }

    @Override
    int write(
        final Report.Failed m,
        final long seq,
        final int sender,
        final MutableDirectBuffer buffer,
        final int offset,
        final MessageHeaderEncoder header) {
      final FailedEncoder e =
          encoder
              .wrapAndApplyHeader(buffer, offset, header)
              .runId(m.runId())
              .seq(seq)
              .sender(sender)
              .step(m.step())
              .cause(CAUSE_CODES[m.cause().ordinal()]);
      e.limit(putText(buffer, e.limit(), m.message()));
      return e.encodedLength();
    }

    @Override
    Decoded read(
        final DirectBuffer buffer,
        final int body,
        final int blockLength,
        final int version,
        final VarData.Reader in) {
      final FailedDecoder d = decoder.wrap(buffer, body, blockLength, version);
      final Report.Cause cause = cause(d.causeRaw());
      if (cause == null) {
        return badCode("Failed.cause", d.causeRaw());
      }
      final String text = in.text("Failed.message");
      if (text == null) {
        return malformed(in.failure);
      }
      return ok(
          in, d.seq(), d.sender(), new Report.Failed(d.runId(), d.sender(), d.step(), text, cause));
    }

    /** The cause with FailureCause code {@code code}, or null for a code the schema lacks. */
    private static Report.Cause cause(final short code) {
      for (final Report.Cause c : CAUSES) {
        if (CAUSE_CODES[c.ordinal()].value() == code) {
          return c;
        }
      }
      return null;
    }
  }

  static final class CheckpointDoneCodec extends ReportCodec<Report.CheckpointDone> {
    private final CheckpointDoneEncoder encoder = new CheckpointDoneEncoder();
    private final CheckpointDoneDecoder decoder = new CheckpointDoneDecoder();

    CheckpointDoneCodec() {
      super(
          Report.CheckpointDone.class,
          "CheckpointDone",
          CheckpointDoneDecoder.TEMPLATE_ID,
          CheckpointDoneDecoder.BLOCK_LENGTH);
    }

    @Override
    long length(final Report.CheckpointDone m) {
      return CheckpointDoneEncoder.BLOCK_LENGTH
          + (long) textLength(m.path(), "Report.CheckpointDone.path");
    }

    @Override
    int write(
        final Report.CheckpointDone m,
        final long seq,
        final int sender,
        final MutableDirectBuffer buffer,
        final int offset,
        final MessageHeaderEncoder header) {
      final CheckpointDoneEncoder e =
          encoder
              .wrapAndApplyHeader(buffer, offset, header)
              .runId(m.runId())
              .seq(seq)
              .sender(sender)
              .step(m.step());
      e.limit(putText(buffer, e.limit(), m.path()));
      return e.encodedLength();
    }

    @Override
    Decoded read(
        final DirectBuffer buffer,
        final int body,
        final int blockLength,
        final int version,
        final VarData.Reader in) {
      final CheckpointDoneDecoder d = decoder.wrap(buffer, body, blockLength, version);
      final String path = in.text("CheckpointDone.path");
      if (path == null) {
        return malformed(in.failure);
      }
      return ok(
          in,
          d.seq(),
          d.sender(),
          new Report.CheckpointDone(d.runId(), d.sender(), d.step(), path));
    }
  }

  static final class PreciseBnDoneCodec extends ReportCodec<Report.PreciseBnDone> {
    private final BnRecalibratedEncoder encoder = new BnRecalibratedEncoder();
    private final BnRecalibratedDecoder decoder = new BnRecalibratedDecoder();

    PreciseBnDoneCodec() {
      super(
          Report.PreciseBnDone.class,
          "PreciseBnDone",
          BnRecalibratedDecoder.TEMPLATE_ID,
          BnRecalibratedDecoder.BLOCK_LENGTH);
    }

    @Override
    long length(final Report.PreciseBnDone m) {
      final int layers = m.layers().size();
      if (layers > BnRecalibratedEncoder.LayersEncoder.countMaxValue()) {
        throw new IllegalArgumentException(
            "Report.PreciseBnDone has "
                + layers
                + " layers; the schema's group holds at most "
                + BnRecalibratedEncoder.LayersEncoder.countMaxValue());
      }
      return BnRecalibratedEncoder.BLOCK_LENGTH
          + BnRecalibratedEncoder.LayersEncoder.sbeHeaderSize()
          + (long) layers * BnRecalibratedEncoder.LayersEncoder.sbeBlockLength();
    }

    @Override
    int write(
        final Report.PreciseBnDone m,
        final long seq,
        final int sender,
        final MutableDirectBuffer buffer,
        final int offset,
        final MessageHeaderEncoder header) {
      final BnRecalibratedEncoder e =
          encoder
              .wrapAndApplyHeader(buffer, offset, header)
              .runId(m.runId())
              .seq(seq)
              .sender(sender)
              .batches(m.batches())
              .samples(m.samples())
              .replicaHash(m.replicaHash());
      final BnRecalibratedEncoder.LayersEncoder layers = e.layersCount(m.layers().size());
      for (final Report.Movement movement : m.layers()) {
        layers.next().meanShift(movement.meanShift()).varianceRatio(movement.varianceRatio());
      }
      return e.encodedLength();
    }

    @Override
    Decoded read(
        final DirectBuffer buffer,
        final int body,
        final int blockLength,
        final int version,
        final VarData.Reader in) {
      final BnRecalibratedDecoder d = decoder.wrap(buffer, body, blockLength, version);
      final int entryLength = BnRecalibratedDecoder.LayersDecoder.sbeBlockLength();
      final int count = in.groupCount("PreciseBnDone", "layers", entryLength);
      if (count < 0) {
        return malformed(in.failure);
      }
      if ((long) count * entryLength > in.remaining()) {
        return malformed(
            "PreciseBnDone claims "
                + count
                + " layers, more than its "
                + in.remaining()
                + " bytes hold");
      }
      final List<Report.Movement> layers = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        layers.add(
            new Report.Movement(
                buffer.getDouble(
                    in.pos + BnRecalibratedDecoder.LayersDecoder.meanShiftEncodingOffset(), ORDER),
                buffer.getDouble(
                    in.pos + BnRecalibratedDecoder.LayersDecoder.varianceRatioEncodingOffset(),
                    ORDER)));
        in.pos += entryLength;
      }
      return ok(
          in,
          d.seq(),
          d.sender(),
          new Report.PreciseBnDone(
              d.runId(), d.sender(), d.batches(), d.samples(), d.replicaHash(), layers));
    }
  }
}
