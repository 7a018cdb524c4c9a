package dev.derrick.local.internal;

import dev.derrick.api.ExecResult;
import dev.derrick.core.exec.OutputCapture;
import dev.derrick.core.exec.ProcessRunner;
import dev.derrick.core.process.BackgroundProcess;
import dev.derrick.core.process.StdinPipe;
import dev.derrick.local.internal.sandbox.SandboxProcess;
import dev.derrick.local.internal.sandbox.SandboxRunner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Turns a started process of a local workspace — in its sandbox ({@link SandboxProcess}) or, with isolation
 * {@code none}, on the host ({@link ProcessRunner.Started}) — into a {@link BackgroundProcess}: output pumped into it
 * as it comes (it keeps the most recent {@code maxOutputBytes}), stdin fed from a queue (a write never blocks the
 * caller, however slowly the process reads), the timeout and {@link BackgroundProcess#kill()} ending the whole tree,
 * the exit recorded.
 *
 * <p>The process counts as ended when its shell has exited (and its output pipes are drained, or
 * {@link ProcessRunner#DEFAULT_PIPE_GRACE} later when processes it left in the background hold them); like
 * {@code exec}, what it left in the background keeps running until the workspace closes, resets or restores.
 */
final class LocalBackground {
    /** Bytes written to a process's stdin and not yet taken by it, at most: beyond, writes fail (the heap is shared). */
    static final long MAX_STDIN_BACKLOG = 8L * 1024 * 1024;
    private static final Logger LOG = LoggerFactory.getLogger(LocalBackground.class);

    /** What the two kinds of process have in common. */
    interface Raw {
        OutputStream stdin();

        InputStream stdout();

        InputStream stderr();

        /** Waits at most {@code limit} for the shell to exit; returns whether it did. */
        boolean waitFor(Duration limit) throws InterruptedException;

        /** The shell's exit code (128 + n when killed by signal n). */
        int exitCode();

        /** Kills the shell and everything it started; returns once they are gone (or after a few seconds). */
        void killTree();

        /** The shell has exited and its output is read: leftovers run on until the workspace ends them. */
        void release();
    }

    private LocalBackground() {
    }

    /** A process of the workspace's sandbox (started with its stdin open). */
    static Raw of(SandboxProcess p) {
        return new Raw() {
            @Override
            public OutputStream stdin() {
                return p.stdin();
            }

            @Override
            public InputStream stdout() {
                return p.stdout();
            }

            @Override
            public InputStream stderr() {
                return p.stderr();
            }

            @Override
            public boolean waitFor(Duration limit) throws InterruptedException {
                return p.waitFor(limit);
            }

            @Override
            public int exitCode() {
                return p.exitCode();
            }

            @Override
            public void killTree() {
                p.kill();
            }

            @Override
            public void release() {
                p.release();
            }
        };
    }

    /** A process started on the host by the workspace's runner. */
    static Raw of(ProcessRunner.Started p) {
        return new Raw() {
            @Override
            public OutputStream stdin() {
                return p.stdin();
            }

            @Override
            public InputStream stdout() {
                return p.stdout();
            }

            @Override
            public InputStream stderr() {
                return p.stderr();
            }

            @Override
            public boolean waitFor(Duration limit) throws InterruptedException {
                return p.process().waitFor(limit.toNanos(), TimeUnit.NANOSECONDS);
            }

            @Override
            public int exitCode() {
                return p.process().exitValue();
            }

            @Override
            public void killTree() {
                p.killTree();
            }

            @Override
            public void release() {
                p.finished();
            }
        };
    }

    /**
     * Wires {@code raw} into a new {@link BackgroundProcess} and returns it; a pooled thread waits for its end.
     *
     * @param timeout {@code null}: none
     */
    static BackgroundProcess start(String id, String command, Raw raw, Duration timeout, long maxOutputBytes) {
        StdinPipe queue = new StdinPipe();
        AtomicBoolean released = new AtomicBoolean();
        AtomicBoolean stdinBroken = new AtomicBoolean();
        java.util.concurrent.atomic.AtomicLong backlog = new java.util.concurrent.atomic.AtomicLong();
        BackgroundProcess process = new BackgroundProcess(id, command, maxOutputBytes, new BackgroundProcess.Control() {
            @Override
            public void writeStdin(byte[] data) throws IOException {
                if (stdinBroken.get()) {
                    throw new IOException("the process closed its standard input");
                }
                if (backlog.addAndGet(data.length) > MAX_STDIN_BACKLOG) {
                    backlog.addAndGet(-data.length);
                    throw new IOException("the process is not reading its standard input: "
                            + MAX_STDIN_BACKLOG / (1024 * 1024) + " MiB are waiting for it already");
                }
                queue.write(data);
            }

            @Override
            public void closeStdin() {
                queue.closeWriter();
            }

            @Override
            public void killTree() {
                // once released, the process's cgroup (or session) may be gone and its name reused: nothing to kill
                if (!released.get()) {
                    raw.killTree();
                }
            }
        });
        // keeps one byte per stream: the process's buffers hold the output; this decodes UTF-8 into them
        OutputCapture capture = new OutputCapture(1, process.output());
        SandboxRunner.Sink out = new SandboxRunner.Sink(capture.stdoutSink());
        SandboxRunner.Sink err = new SandboxRunner.Sink(capture.stderrSink());
        Future<?> outPump = SandboxRunner.pumps().submit(() -> SandboxRunner.pump(raw.stdout(), out));
        Future<?> errPump = SandboxRunner.pumps().submit(() -> SandboxRunner.pump(raw.stderr(), err));
        SandboxRunner.pumps().submit(() -> feed(queue, raw.stdin(), stdinBroken, backlog));
        SandboxRunner.pumps().submit(() -> {
            boolean timedOut = false;
            int code = -1;
            try {
                if (timeout != null && !raw.waitFor(timeout)) {
                    timedOut = true;
                    LOG.info("background process {} ran past its timeout of {} and is killed", id, timeout);
                    process.timeout();
                }
                while (!raw.waitFor(Duration.ofHours(1))) {
                    // no timeout: it runs until it ends or is killed
                }
                long deadline = System.nanoTime() + ProcessRunner.DEFAULT_PIPE_GRACE.toNanos();
                if (!(SandboxRunner.await(outPump, deadline) & SandboxRunner.await(errPump, deadline))) {
                    out.detach(); // processes it left hold its output open: their further output is dropped
                    err.detach();
                }
                code = raw.exitCode();
            } catch (InterruptedException e) {
                raw.killTree();
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                LOG.warn("background process {}: {}", id, e.toString());
                raw.killTree();
            } finally {
                queue.closeWriter();
                capture.toResult(0, Duration.ZERO, false); // hands on a character split at the end
                released.set(true);
                raw.release();
                process.exited(timedOut ? ExecResult.TIMED_OUT_EXIT_CODE : code);
            }
        });
        return process;
    }

    /** Copies what callers queue to the process's stdin, closing it when the queue is closed. */
    private static void feed(StdinPipe queue, OutputStream stdin, AtomicBoolean broken,
                             java.util.concurrent.atomic.AtomicLong backlog) {
        byte[] buffer = new byte[8192];
        try (stdin) {
            int n;
            while ((n = queue.read(buffer, 0, buffer.length)) >= 0) {
                stdin.write(buffer, 0, n);
                stdin.flush();
                backlog.addAndGet(-n);
            }
        } catch (IOException e) {
            broken.set(true); // the process closed it, or has ended
            queue.closeWriter();
        }
    }
}
