package dev.derrick.core.process;

import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecResult;
import dev.derrick.api.OutputListener;
import dev.derrick.api.ProcessInfo;
import dev.derrick.api.ProcessOutput;
import dev.derrick.api.StreamKind;
import dev.derrick.api.WorkspaceProcess;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A {@link WorkspaceProcess} whose provider feeds it: output chunks through {@link #output()}, the end through
 * {@link #exited(int)}; stdin and the kill go back through a {@link Control}. Keeps the most recent output up to a
 * cap (per stream and interleaved), with offsets that count every character ever written, so readers can follow.
 *
 * <pre>{@code
 * BackgroundProcess p = new BackgroundProcess(table.nextId(), request.command(), maxChars, control);
 * startTheRealProcess(p.output(), p::exited);
 * table.add(p);
 * }</pre>
 */
public final class BackgroundProcess implements WorkspaceProcess {
    private static final Logger LOG = LoggerFactory.getLogger(BackgroundProcess.class);

    /** What a provider does for stdin and kill. */
    public interface Control {
        /** Writes to the process's stdin; throws when that is closed or the process is gone. */
        void writeStdin(byte[] data) throws java.io.IOException;

        /** Closes stdin. */
        void closeStdin();

        /** Kills the whole process tree (does not wait). */
        void killTree();
    }

    private final String id;
    private final String command;
    private final Control control;
    private final Instant started = Instant.now();
    private final long startNanos = System.nanoTime();
    private final TailBuffer combined;
    private final TailBuffer stdout;
    private final TailBuffer stderr;
    private final List<OutputListener> listeners = new CopyOnWriteArrayList<>();
    private final CountDownLatch done = new CountDownLatch(1);
    private volatile Integer exitCode;
    private volatile long endNanos;
    private volatile boolean killed;
    private volatile boolean timedOut;
    private volatile boolean stdinClosed;

    /**
     * @param maxChars how much output to keep per stream (and interleaved); older output is dropped
     */
    public BackgroundProcess(String id, String command, long maxChars, Control control) {
        this.id = id;
        this.command = command;
        this.control = control;
        int cap = (int) Math.min(Integer.MAX_VALUE - 8, Math.max(1024, maxChars));
        this.combined = new TailBuffer(cap);
        this.stdout = new TailBuffer(cap);
        this.stderr = new TailBuffer(cap);
    }

    /** Where the provider writes the process's output, as it arrives. */
    public OutputListener output() {
        return this::onOutput;
    }

    private void onOutput(StreamKind stream, String chunk) {
        if (chunk.isEmpty()) {
            return;
        }
        synchronized (this) {
            combined.append(chunk);
            (stream == StreamKind.STDERR ? stderr : stdout).append(chunk);
            for (OutputListener l : listeners) {
                try {
                    l.onOutput(stream, chunk);
                } catch (RuntimeException e) {
                    LOG.debug("output listener of process {} failed: {}", id, e.toString());
                }
            }
        }
    }

    /** The provider reports that the process ended. Only the first call counts. */
    public void exited(int code) {
        synchronized (this) {
            if (exitCode != null) {
                return;
            }
            exitCode = code;
            endNanos = System.nanoTime();
            listeners.clear();
        }
        done.countDown();
    }

    /** Marks the process as killed by its timeout and kills it. */
    public void timeout() {
        timedOut = true;
        killTree();
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public ProcessInfo info() {
        Integer code = exitCode;
        long end = code == null ? System.nanoTime() : endNanos;
        return new ProcessInfo(id, command, started, code == null, code, Duration.ofNanos(end - startNanos),
                killed || timedOut);
    }

    @Override
    public synchronized ProcessOutput readOutput(long offset) {
        TailBuffer.Slice s = combined.from(offset);
        return new ProcessOutput(s.text(), s.offset(), s.next(), s.offset() > Math.max(0, offset), exitCode == null,
                exitCode);
    }

    @Override
    public AutoCloseable subscribe(long offset, OutputListener listener) {
        synchronized (this) {
            TailBuffer.Slice s = combined.from(offset);
            if (!s.text().isEmpty()) {
                listener.onOutput(StreamKind.STDOUT, s.text());
            }
            if (exitCode != null) {
                return () -> { };
            }
            listeners.add(listener);
        }
        return () -> listeners.remove(listener);
    }

    @Override
    public void writeStdin(byte[] data) {
        if (exitCode != null) {
            throw new dev.derrick.api.ProcessStdinException("process " + id + " has ended (exit code " + exitCode
                    + "); cannot write to its stdin");
        }
        if (stdinClosed) {
            throw new dev.derrick.api.ProcessStdinException("the stdin of process " + id + " is closed");
        }
        try {
            control.writeStdin(data);
        } catch (java.io.IOException e) {
            throw new dev.derrick.api.ProcessStdinException("cannot write to the stdin of process " + id + ": " + e.getMessage());
        }
    }

    @Override
    public void closeStdin() {
        if (!stdinClosed) {
            stdinClosed = true;
            control.closeStdin();
        }
    }

    @Override
    public Optional<ExecResult> waitFor(Duration timeout) {
        try {
            if (!done.await(Math.max(0, timeout.toMillis()), TimeUnit.MILLISECONDS)) {
                return Optional.empty();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DerrickException("interrupted while waiting for process " + id);
        }
        return Optional.of(result());
    }

    @Override
    public ExecResult kill() {
        if (exitCode == null) {
            killed = true;
            killTree();
        }
        Optional<ExecResult> r = waitFor(Duration.ofSeconds(20));
        if (r.isEmpty()) {
            throw new DerrickException("process " + id + " did not end within 20 s of being killed");
        }
        return r.get();
    }

    private void killTree() {
        try {
            control.killTree();
        } catch (RuntimeException e) {
            LOG.warn("could not kill process {}: {}", id, e.toString());
        }
    }

    /** The result once ended (output kept, exit code). */
    private synchronized ExecResult result() {
        return new ExecResult(exitCode, stdout.all(), stderr.all(), combined.all(),
                Duration.ofNanos(endNanos - startNanos), timedOut, combined.dropped() > 0);
    }

    @Override
    public String toString() {
        return "process " + id + " (" + (exitCode == null ? "running" : "exit " + exitCode) + ")";
    }
}
