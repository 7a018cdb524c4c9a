package dev.derrick.local.internal.sandbox;

import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecResult;
import dev.derrick.api.OutputListener;
import dev.derrick.core.exec.OutputCapture;
import dev.derrick.core.exec.ProcessRunner;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs a command in a {@link Sandbox} and waits for it, the way {@link ProcessRunner} does on the host: output
 * captured (separate, interleaved, capped) and streamed, a timeout that kills everything the command started, and a
 * return once the shell has exited even if background processes keep its output pipes open (their further output is
 * dropped; they keep running until the workspace closes).
 */
public final class SandboxRunner {
    /** Exit code reported for a command killed by its timeout (as {@code timeout(1)} does). */
    public static final int TIMEOUT_EXIT = 124;
    private static final AtomicInteger THREADS = new AtomicInteger();
    private static final ExecutorService PUMPS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "derrick-sandbox-pump-" + THREADS.incrementAndGet());
        t.setDaemon(true);
        return t;
    });

    /** Threads for reading process output (blocking reads: never the common pool). */
    public static ExecutorService pumps() {
        return PUMPS;
    }

    private SandboxRunner() {
    }

    /**
     * Runs {@code launch} to its end or its timeout.
     *
     * @param timeout  {@code null}: none
     * @param maxBytes cap per captured stream
     */
    public static ExecResult run(Sandbox sandbox, Launch launch, Duration timeout, long maxBytes, OutputListener listener) {
        OutputCapture capture = new OutputCapture(maxBytes, listener);
        long start = System.nanoTime();
        SandboxProcess process = sandbox.start(launch);
        Sink out = new Sink(capture.stdoutSink());
        Sink err = new Sink(capture.stderrSink());
        Future<?> outPump = PUMPS.submit(() -> pump(process.stdout(), out));
        Future<?> errPump = PUMPS.submit(() -> pump(process.stderr(), err));
        boolean timedOut = false;
        int exit;
        try {
            if (timeout == null) {
                process.waitFor();
            } else if (!process.waitFor(timeout)) {
                timedOut = true;
                process.kill();
                process.waitFor(Duration.ofSeconds(5));
            }
            long deadline = System.nanoTime() + ProcessRunner.DEFAULT_PIPE_GRACE.toNanos();
            if (!(await(outPump, deadline) & await(errPump, deadline))) {
                out.detached = true;
                err.detached = true;
            }
            exit = process.isAlive() ? -1 : process.exitCode();
        } catch (InterruptedException e) {
            process.kill();
            process.release();
            Thread.currentThread().interrupt();
            throw new DerrickException("interrupted while running a command; its processes were killed");
        } finally {
            if (timedOut) {
                process.kill(); // anything that started meanwhile
            }
            process.release();
        }
        return capture.toResult(timedOut ? TIMEOUT_EXIT : exit, Duration.ofNanos(System.nanoTime() - start), timedOut);
    }

    /** Waits for a pump until {@code deadline} (nanoTime); whether it finished. */
    public static boolean await(Future<?> pump, long deadline) {
        try {
            pump.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (java.util.concurrent.ExecutionException e) {
            return true;
        }
    }

    /** Copies {@code in} into the sink until end of stream; a detached sink drops what comes. */
    public static void pump(InputStream in, Sink sink) {
        byte[] buffer = new byte[8192];
        try (in) {
            int n;
            while ((n = in.read(buffer)) > 0) {
                if (!sink.detached) {
                    sink.target.write(buffer, 0, n);
                }
            }
        } catch (IOException e) {
            // closed: the command is over for us
        }
    }

    /** Where a pump writes; {@link #detach()} drops further output (left running processes hold the pipe). */
    public static final class Sink {
        final OutputStream target;
        volatile boolean detached;

        public Sink(OutputStream target) {
            this.target = target;
        }

        public void detach() {
            detached = true;
        }
    }
}
