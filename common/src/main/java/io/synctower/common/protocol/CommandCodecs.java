package io.synctower.common.protocol;

import static io.synctower.common.protocol.VarData.putText;
import static io.synctower.common.protocol.VarData.textLength;

import io.synctower.common.protocol.sbe.AbortDecoder;
import io.synctower.common.protocol.sbe.AbortEncoder;
import io.synctower.common.protocol.sbe.CheckpointRequestDecoder;
import io.synctower.common.protocol.sbe.CheckpointRequestEncoder;
import io.synctower.common.protocol.sbe.DatasetRole;
import io.synctower.common.protocol.sbe.EvaluateDecoder;
import io.synctower.common.protocol.sbe.EvaluateEncoder;
import io.synctower.common.protocol.sbe.ExportWeightsRequestDecoder;
import io.synctower.common.protocol.sbe.ExportWeightsRequestEncoder;
import io.synctower.common.protocol.sbe.MessageHeaderEncoder;
import io.synctower.common.protocol.sbe.RecalibrateBnRequestDecoder;
import io.synctower.common.protocol.sbe.RecalibrateBnRequestEncoder;
import io.synctower.common.protocol.sbe.RestoreRequestDecoder;
import io.synctower.common.protocol.sbe.RestoreRequestEncoder;
import io.synctower.common.protocol.sbe.ShutdownDecoder;
import io.synctower.common.protocol.sbe.ShutdownEncoder;
import io.synctower.common.protocol.sbe.TrainStepDecoder;
import io.synctower.common.protocol.sbe.TrainStepEncoder;
import java.util.List;
import java.util.Objects;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Coordinator to worker: the {@link Command}s, one codec each, all tagged, all sent by {@link
 * Join#COORDINATOR} (a frame naming another sender is refused). {@link Command.ExportWeights}
 * travels as the schema's {@code ExportWeightsRequest}, {@link Command.Restore} as {@code
 * RestoreRequest}, {@link Command.Checkpoint} as {@code CheckpointRequest} and {@link
 * Command.RunPreciseBn} as {@code RecalibrateBnRequest}.
 */
final class CommandCodecs {
  private CommandCodecs() {}

  /** A fresh codec of every command, for one thread. */
  static List<MessageCodec<?>> create() {
    return List.of(
        new TrainStepCodec(),
        new EvaluateCodec(),
        new ShutdownCodec(),
        new AbortCodec(),
        new ExportWeightsCodec(),
        new RestoreCodec(),
        new CheckpointCodec(),
        new RunPreciseBnCodec());
  }

  /** What every command shares: tagged, sent by the coordinator. */
  private abstract static class CommandCodec<C extends Command> extends MessageCodec<C> {
    CommandCodec(
        final Class<C> type, final String schemaName, final int templateId, final int blockLength) {
      super(type, schemaName, templateId, blockLength, true);
    }

    @Override
    final int sender(final C m) {
      return Join.COORDINATOR;
    }
  }

  static final class TrainStepCodec extends CommandCodec<Command.TrainStep> {
    private final TrainStepEncoder encoder = new TrainStepEncoder();
    private final TrainStepDecoder decoder = new TrainStepDecoder();

    TrainStepCodec() {
      super(
          Command.TrainStep.class,
          "TrainStep",
          TrainStepDecoder.TEMPLATE_ID,
          TrainStepDecoder.BLOCK_LENGTH);
    }

    @Override
    long length(final Command.TrainStep m) {
      return TrainStepEncoder.BLOCK_LENGTH;
    }

    @Override
    int write(
        final Command.TrainStep m,
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
          .epoch(m.epoch())
          .batchInEpoch(m.batchInEpoch())
          .step(m.step())
          .learningRate(m.learningRate())
          .reportHash(bool(m.reportHash()))
          .encodedLength();
    }

    @Override
    Decoded read(
        final DirectBuffer buffer,
        final int body,
        final int blockLength,
        final int version,
        final VarData.Reader in) {
      final TrainStepDecoder d = decoder.wrap(buffer, body, blockLength, version);
      if (d.sender() != Join.COORDINATOR) {
        return notFromCoordinator(d.sender());
      }
      final short reportHash = d.reportHashRaw();
      if (!isBoolean(reportHash)) {
        return badCode("TrainStep.reportHash", reportHash);
      }
      return ok(
          in,
          d.seq(),
          d.sender(),
          new Command.TrainStep(
              d.runId(),
              d.epoch(),
              d.batchInEpoch(),
              d.step(),
              d.learningRate(),
              isTrue(reportHash)));
    }
  }

  static final class EvaluateCodec extends CommandCodec<Command.Evaluate> {
    private final EvaluateEncoder encoder = new EvaluateEncoder();
    private final EvaluateDecoder decoder = new EvaluateDecoder();

    EvaluateCodec() {
      super(
          Command.Evaluate.class,
          "Evaluate",
          EvaluateDecoder.TEMPLATE_ID,
          EvaluateDecoder.BLOCK_LENGTH);
    }

    @Override
    long length(final Command.Evaluate m) {
      Objects.requireNonNull(m.dataset(), "Command.Evaluate.dataset");
      return EvaluateEncoder.BLOCK_LENGTH;
    }

    @Override
    int write(
        final Command.Evaluate m,
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
          .dataset(
              m.dataset() == Command.DatasetRole.TRAIN ? DatasetRole.TRAIN : DatasetRole.VALIDATION)
          .encodedLength();
    }

    @Override
    Decoded read(
        final DirectBuffer buffer,
        final int body,
        final int blockLength,
        final int version,
        final VarData.Reader in) {
      final EvaluateDecoder d = decoder.wrap(buffer, body, blockLength, version);
      if (d.sender() != Join.COORDINATOR) {
        return notFromCoordinator(d.sender());
      }
      final short code = d.datasetRaw();
      final Command.DatasetRole role;
      if (code == DatasetRole.TRAIN.value()) {
        role = Command.DatasetRole.TRAIN;
      } else if (code == DatasetRole.VALIDATION.value()) {
        role = Command.DatasetRole.VALIDATION;
      } else {
        return badCode("Evaluate.dataset", code);
      }
      return ok(in, d.seq(), d.sender(), new Command.Evaluate(d.runId(), role));
    }
  }

  static final class ShutdownCodec extends CommandCodec<Command.Shutdown> {
    private final ShutdownEncoder encoder = new ShutdownEncoder();
    private final ShutdownDecoder decoder = new ShutdownDecoder();

    ShutdownCodec() {
      super(
          Command.Shutdown.class,
          "Shutdown",
          ShutdownDecoder.TEMPLATE_ID,
          ShutdownDecoder.BLOCK_LENGTH);
    }

    @Override
    long length(final Command.Shutdown m) {
      return ShutdownEncoder.BLOCK_LENGTH;
    }

    @Override
    int write(
        final Command.Shutdown m,
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
          .encodedLength();
    }

    @Override
    Decoded read(
        final DirectBuffer buffer,
        final int body,
        final int blockLength,
        final int version,
        final VarData.Reader in) {
      final ShutdownDecoder d = decoder.wrap(buffer, body, blockLength, version);
      if (d.sender() != Join.COORDINATOR) {
        return notFromCoordinator(d.sender());
      }
      return ok(in, d.seq(), d.sender(), new Command.Shutdown(d.runId()));
    }
  }

  static final class AbortCodec extends CommandCodec<Command.Abort> {
    private final AbortEncoder encoder = new AbortEncoder();
    private final AbortDecoder decoder = new AbortDecoder();

    AbortCodec() {
      super(Command.Abort.class, "Abort", AbortDecoder.TEMPLATE_ID, AbortDecoder.BLOCK_LENGTH);
    }

    @Override
    long length(final Command.Abort m) {
      return AbortEncoder.BLOCK_LENGTH + (long) textLength(m.reason(), "Command.Abort.reason");
    }

    @Override
    int write(
        final Command.Abort m,
        final long seq,
        final int sender,
        final MutableDirectBuffer buffer,
        final int offset,
        final MessageHeaderEncoder header) {
      final AbortEncoder e =
          encoder
              .wrapAndApplyHeader(buffer, offset, header)
              .runId(m.runId())
              .seq(seq)
              .sender(sender)
              .step(m.step())
              .culprit(m.culprit());
      e.limit(putText(buffer, e.limit(), m.reason()));
      return e.encodedLength();
    }

    @Override
    Decoded read(
        final DirectBuffer buffer,
        final int body,
        final int blockLength,
        final int version,
        final VarData.Reader in) {
      final AbortDecoder d = decoder.wrap(buffer, body, blockLength, version);
      if (d.sender() != Join.COORDINATOR) {
        return notFromCoordinator(d.sender());
      }
      final String reason = in.text("Abort.reason");
      if (reason == null) {
        return malformed(in.failure);
      }
      return ok(
          in, d.seq(), d.sender(), new Command.Abort(d.runId(), d.step(), d.culprit(), reason));
    }
  }

  static final class ExportWeightsCodec extends CommandCodec<Command.ExportWeights> {
    private final ExportWeightsRequestEncoder encoder = new ExportWeightsRequestEncoder();
    private final ExportWeightsRequestDecoder decoder = new ExportWeightsRequestDecoder();

    ExportWeightsCodec() {
      super(
          Command.ExportWeights.class,
          "ExportWeightsRequest",
          ExportWeightsRequestDecoder.TEMPLATE_ID,
          ExportWeightsRequestDecoder.BLOCK_LENGTH);
    }

    @Override
    long length(final Command.ExportWeights m) {
      return ExportWeightsRequestEncoder.BLOCK_LENGTH
          + (long) textLength(m.path(), "Command.ExportWeights.path");
    }

    @Override
    int write(
        final Command.ExportWeights m,
        final long seq,
        final int sender,
        final MutableDirectBuffer buffer,
        final int offset,
        final MessageHeaderEncoder header) {
      final ExportWeightsRequestEncoder e =
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
      final ExportWeightsRequestDecoder d = decoder.wrap(buffer, body, blockLength, version);
      if (d.sender() != Join.COORDINATOR) {
        return notFromCoordinator(d.sender());
      }
      final String path = in.text("ExportWeightsRequest.path");
      if (path == null) {
        return malformed(in.failure);
      }
      return ok(in, d.seq(), d.sender(), new Command.ExportWeights(d.runId(), d.step(), path));
    }
  }

  static final class RestoreCodec extends CommandCodec<Command.Restore> {
    private final RestoreRequestEncoder encoder = new RestoreRequestEncoder();
    private final RestoreRequestDecoder decoder = new RestoreRequestDecoder();

    RestoreCodec() {
      super(
          Command.Restore.class,
          "RestoreRequest",
          RestoreRequestDecoder.TEMPLATE_ID,
          RestoreRequestDecoder.BLOCK_LENGTH);
    }

    @Override
    long length(final Command.Restore m) {
      return RestoreRequestEncoder.BLOCK_LENGTH
          + (long) textLength(m.path(), "Command.Restore.path");
    }

    @Override
    int write(
        final Command.Restore m,
        final long seq,
        final int sender,
        final MutableDirectBuffer buffer,
        final int offset,
        final MessageHeaderEncoder header) {
      final RestoreRequestEncoder e =
          encoder
              .wrapAndApplyHeader(buffer, offset, header)
              .runId(m.runId())
              .seq(seq)
              .sender(sender);
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
      final RestoreRequestDecoder d = decoder.wrap(buffer, body, blockLength, version);
      if (d.sender() != Join.COORDINATOR) {
        return notFromCoordinator(d.sender());
      }
      final String path = in.text("RestoreRequest.path");
      if (path == null) {
        return malformed(in.failure);
      }
      return ok(in, d.seq(), d.sender(), new Command.Restore(d.runId(), path));
    }
  }

  static final class CheckpointCodec extends CommandCodec<Command.Checkpoint> {
    private final CheckpointRequestEncoder encoder = new CheckpointRequestEncoder();
    private final CheckpointRequestDecoder decoder = new CheckpointRequestDecoder();

    CheckpointCodec() {
      super(
          Command.Checkpoint.class,
          "CheckpointRequest",
          CheckpointRequestDecoder.TEMPLATE_ID,
          CheckpointRequestDecoder.BLOCK_LENGTH);
    }

    @Override
    long length(final Command.Checkpoint m) {
      return CheckpointRequestEncoder.BLOCK_LENGTH
          + (long) textLength(m.directory(), "Command.Checkpoint.directory")
          + textLength(m.trainerState(), "Command.Checkpoint.trainerState");
    }

    @Override
    int write(
        final Command.Checkpoint m,
        final long seq,
        final int sender,
        final MutableDirectBuffer buffer,
        final int offset,
        final MessageHeaderEncoder header) {
      final CheckpointRequestEncoder e =
          encoder
              .wrapAndApplyHeader(buffer, offset, header)
              .runId(m.runId())
              .seq(seq)
              .sender(sender)
              .step(m.step())
              .keep(m.keep())
              .awaitWrite(bool(m.awaitWrite()));
      e.limit(putText(buffer, e.limit(), m.directory()));
      e.limit(putText(buffer, e.limit(), m.trainerState()));
      return e.encodedLength();
    }

    @Override
    Decoded read(
        final DirectBuffer buffer,
        final int body,
        final int blockLength,
        final int version,
        final VarData.Reader in) {
      final CheckpointRequestDecoder d = decoder.wrap(buffer, body, blockLength, version);
      if (d.sender() != Join.COORDINATOR) {
        return notFromCoordinator(d.sender());
      }
      final short awaitWrite = d.awaitWriteRaw();
      if (!isBoolean(awaitWrite)) {
        return badCode("CheckpointRequest.awaitWrite", awaitWrite);
      }
      final String directory = in.text("CheckpointRequest.directory");
      final String state = directory == null ? null : in.text("CheckpointRequest.trainerState");
      if (state == null) {
        return malformed(in.failure);
      }
      return ok(
          in,
          d.seq(),
          d.sender(),
          new Command.Checkpoint(
              d.runId(), d.step(), directory, d.keep(), isTrue(awaitWrite), state));
    }
  }

  static final class RunPreciseBnCodec extends CommandCodec<Command.RunPreciseBn> {
    private final RecalibrateBnRequestEncoder encoder = new RecalibrateBnRequestEncoder();
    private final RecalibrateBnRequestDecoder decoder = new RecalibrateBnRequestDecoder();

    RunPreciseBnCodec() {
      super(
          Command.RunPreciseBn.class,
          "RecalibrateBnRequest",
          RecalibrateBnRequestDecoder.TEMPLATE_ID,
          RecalibrateBnRequestDecoder.BLOCK_LENGTH);
    }

    @Override
    long length(final Command.RunPreciseBn m) {
      return RecalibrateBnRequestEncoder.BLOCK_LENGTH;
    }

    @Override
    int write(
        final Command.RunPreciseBn m,
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
          .batches(m.batches())
          .round(m.round())
          .encodedLength();
    }

    @Override
    Decoded read(
        final DirectBuffer buffer,
        final int body,
        final int blockLength,
        final int version,
        final VarData.Reader in) {
      final RecalibrateBnRequestDecoder d = decoder.wrap(buffer, body, blockLength, version);
      if (d.sender() != Join.COORDINATOR) {
        return notFromCoordinator(d.sender());
      }
      return ok(
          in, d.seq(), d.sender(), new Command.RunPreciseBn(d.runId(), d.batches(), d.round()));
    }
  }
}
