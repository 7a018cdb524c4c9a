package dev.derrick.remote.internal;

import dev.derrick.core.protocol.Operation;
import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecResult;
import dev.derrick.api.OutputListener;
import dev.derrick.api.ProcessInfo;
import dev.derrick.api.ProcessOutput;
import dev.derrick.api.StreamKind;
import dev.derrick.api.WorkspaceProcess;
import dev.derrick.core.wire.Wire.ProcessBody;
import dev.derrick.core.wire.Wire.ProcessOutputBody;
import dev.derrick.core.wire.Wire.ProcessOutputReply;
import dev.derrick.core.wire.Wire.StdinBody;
import dev.derrick.core.wire.Wire.WaitBody;
import dev.derrick.core.wire.Wire.WaitReply;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A background process on an agent. Output is read with long polls ({@code process_output} with {@code wait}), so
 * {@link #subscribe} streams over both transports without holding a connection open between chunks.
 */
final class RemoteProcess implements WorkspaceProcess {
    private static final Duration POLL = Duration.ofSeconds(10);
    private final RemoteWorkspace workspace;
    private final String id;
    private volatile ProcessInfo last;

    RemoteProcess(RemoteWorkspace workspace, String id) {
        this.workspace = workspace;
        this.id = id;
    }

    @Override
    public String id() {
        return id;
    }

    /**
     * The agent's answer; once the workspace is closed (here, or gone on the agent) the process has ended with it —
     * nothing a workspace started outlives it — and the last state known is returned as ended and killed.
     */
    @Override
    public ProcessInfo info() {
        try {
            ProcessInfo info = RemoteWire.reply(workspace.callProcess(Operation.PROCESS_INFO, id, RemoteWire.EMPTY, timeout()),
                    ProcessBody.class, Operation.PROCESS_INFO).toInfo();
            last = info;
            return info;
        } catch (dev.derrick.api.WorkspaceNotFoundException e) {
            ProcessInfo known = last;
            if (known == null) {
                return new ProcessInfo(id, "", java.time.Instant.EPOCH, false, null, Duration.ZERO, true);
            }
            return known.running() ? new ProcessInfo(known.id(), known.command(), known.started(), false,
                    known.exitCode(), known.elapsed(), true) : known;
        }
    }

    @Override
    public ProcessOutput readOutput(long offset) {
        return read(offset, Duration.ZERO);
    }

    private ProcessOutput read(long offset, Duration wait) {
        return RemoteWire.reply(workspace.callProcess(Operation.PROCESS_OUTPUT, id, RemoteWire.write(new ProcessOutputBody(offset,
                        wait.toMillis() / 1000.0)), timeout().plus(wait)), ProcessOutputReply.class, Operation.PROCESS_OUTPUT)
                .toOutput();
    }

    @Override
    public AutoCloseable subscribe(long offset, OutputListener listener) {
        AtomicBoolean stop = new AtomicBoolean();
        Thread t = new Thread(() -> {
            long next = offset;
            while (!stop.get()) {
                ProcessOutput out;
                try {
                    out = read(next, POLL);
                } catch (RuntimeException e) {
                    return; // the workspace or agent is gone: the stream ends
                }
                if (!out.output().isEmpty() && !stop.get()) {
                    listener.onOutput(StreamKind.STDOUT, out.output());
                }
                next = out.nextOffset();
                if (!out.running()) {
                    return;
                }
            }
        }, "derrick-remote-output-" + id);
        t.setDaemon(true);
        t.start();
        return () -> stop.set(true);
    }

    @Override
    public void writeStdin(byte[] data) {
        workspace.callProcess(Operation.PROCESS_STDIN, id, RemoteWire.write(new StdinBody(data, null, null)), timeout());
    }

    @Override
    public void closeStdin() {
        workspace.callProcess(Operation.PROCESS_STDIN, id, RemoteWire.write(new StdinBody(null, null, true)), timeout());
    }

    @Override
    public Optional<ExecResult> waitFor(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = Math.max(0, deadline - System.nanoTime());
            Duration slice = Duration.ofNanos(Math.min(left, Duration.ofSeconds(30).toNanos()));
            WaitReply r = RemoteWire.reply(workspace.callProcess(Operation.PROCESS_WAIT, id, RemoteWire.write(new WaitBody(
                    slice.toMillis() / 1000.0)), timeout().plus(slice)), WaitReply.class, Operation.PROCESS_WAIT);
            if (r.result() != null) {
                return Optional.of(r.result().toResult());
            }
            if (System.nanoTime() >= deadline) {
                return Optional.empty();
            }
            if (Thread.currentThread().isInterrupted()) {
                throw new DerrickException("interrupted while waiting for process " + id);
            }
        }
    }

    @Override
    public ExecResult kill() {
        WaitReply r = RemoteWire.reply(workspace.callProcess(Operation.PROCESS_KILL, id, RemoteWire.EMPTY, timeout().plusSeconds(20)),
                WaitReply.class, Operation.PROCESS_KILL);
        if (r.result() == null) {
            throw new DerrickException("the agent's reply to killing process " + id + " carries no result");
        }
        return r.result().toResult();
    }

    private Duration timeout() {
        return workspace.provider().requestTimeout();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RemoteProcess p && p.id.equals(id) && p.workspace.id().equals(workspace.id());
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, workspace.id());
    }

    @Override
    public String toString() {
        return "RemoteProcess[" + id + " in " + workspace.id() + "]";
    }
}
