package dev.derrick.core.exec;

import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecResult;
import dev.derrick.api.OutputListener;
import org.apache.commons.exec.CommandLine;
import org.apache.commons.exec.DefaultExecutor;
import org.apache.commons.exec.ExecuteStreamHandler;
import org.apache.commons.exec.Executor;
import org.apache.commons.exec.ProcessDestroyer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs shell commands through Apache Commons Exec and ends them completely.
 *
 * <ul>
 *   <li>{@code bash -c COMMAND} (or {@code sh -c} where there is no bash), in a working directory, with exactly the
 *       environment of the {@link ProcessSpec}: nothing is inherited from the JVM.</li>
 *   <li>Where {@code setsid} and {@code /proc} exist (Linux), each command leads a session of its own. A timeout,
 *       {@link #killAll()} or {@link #close()} sends SIGTERM to every process of that session — including
 *       backgrounded grandchildren re-parented to init — and SIGKILL to whatever is left after a grace period.
 *       Elsewhere the process and its {@link ProcessHandle#descendants()} are killed.</li>
 *   <li>stdout and stderr go to an {@link OutputCapture} (separate, interleaved, capped).</li>
 *   <li>A command returns once its shell has exited and its output pipes are closed. A background process that
 *       keeps the pipes open ({@code server &} without redirecting its output) does not make the call hang: after
 *       {@code pipeGrace} its further output is dropped, and it keeps running until {@link #killAll()} or
 *       {@link #close()} (it may die of SIGPIPE when it writes). Redirect such processes' output to a file.</li>
 * </ul>
 *
 * <p>Thread-safe; one instance per workspace is the intended use, so closing a workspace ends its processes only.
 */
public final class ProcessRunner implements AutoCloseable {
    /** How long processes get between SIGTERM and SIGKILL. */
    public static final Duration DEFAULT_TERM_GRACE = Duration.ofMillis(500);
    /** How long to wait for output pipes still held open by background processes after the shell exited. */
    public static final Duration DEFAULT_PIPE_GRACE = Duration.ofMillis(500);

    private static final Logger LOG = LoggerFactory.getLogger(ProcessRunner.class);
    private static final AtomicInteger THREADS = new AtomicInteger();
    /** Finished sessions remembered for a later kill before a scan drops the empty ones. */
    private static final int PRUNE_THRESHOLD = 32;

    /**
     * The programs a command is started with.
     *
     * @param shell  absolute path of {@code bash} or {@code sh}
     * @param setsid absolute path of {@code setsid}, or {@code null} to run commands in the JVM's session
     */
    public record Shell(Path shell, Path setsid) {
        public Shell {
            Objects.requireNonNull(shell, "shell");
        }

        /** bash (else sh) and setsid from the usual system directories; no PATH lookup. */
        public static Shell detect() {
            Path shell = firstExecutable("/bin/bash", "/usr/bin/bash", "/usr/local/bin/bash");
            if (shell == null) {
                shell = firstExecutable("/bin/sh", "/usr/bin/sh");
            }
            if (shell == null) {
                throw new DerrickException("no shell found: neither bash nor sh in /bin, /usr/bin or /usr/local/bin");
            }
            return new Shell(shell, firstExecutable("/usr/bin/setsid", "/bin/setsid", "/usr/local/bin/setsid"));
        }

        private static Path firstExecutable(String... candidates) {
            for (String candidate : candidates) {
                Path p = Path.of(candidate);
                if (Files.isExecutable(p) && !Files.isDirectory(p)) {
                    return p;
                }
            }
            return null;
        }
    }

    private final Shell shell;
    private final boolean sessions;
    private final Duration termGrace;
    private final Duration pipeGrace;
    private final ThreadPoolExecutor threads;
    private final ScheduledThreadPoolExecutor timers;
    private final Set<Run> live = ConcurrentHashMap.newKeySet();
    private final Set<Started> started = ConcurrentHashMap.newKeySet();
    private final Set<Long> finishedSessions = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean pruning = new AtomicBoolean();
    private volatile boolean closed;

    /** bash/sh and setsid detected on this machine, default grace periods. */
    public ProcessRunner() {
        this(Shell.detect(), DEFAULT_TERM_GRACE, DEFAULT_PIPE_GRACE);
    }

    public ProcessRunner(Shell shell, Duration termGrace, Duration pipeGrace) {
        this.shell = Objects.requireNonNull(shell, "shell");
        this.sessions = shell.setsid() != null && ProcessTree.procAvailable();
        this.termGrace = Objects.requireNonNull(termGrace, "termGrace");
        this.pipeGrace = Objects.requireNonNull(pipeGrace, "pipeGrace");
        ThreadFactory factory = r -> {
            Thread t = new Thread(r, "derrick-exec-" + THREADS.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        this.threads = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS, new SynchronousQueue<>(), factory);
        this.timers = new ScheduledThreadPoolExecutor(1, factory);
        this.timers.setRemoveOnCancelPolicy(true);
        this.timers.setKeepAliveTime(30, TimeUnit.SECONDS);
        this.timers.allowCoreThreadTimeOut(true);
    }

    /** The shell and setsid in use. */
    public Shell shell() {
        return shell;
    }

    /** Whether commands get a session of their own, so that their whole tree can be found and killed. */
    public boolean isolatesSessions() {
        return sessions;
    }

    /** Runs a command and waits for it; see {@link #run(ProcessSpec, OutputListener)}. */
    public ExecResult run(ProcessSpec spec) {
        return run(spec, OutputListener.NONE);
    }

    /**
     * Runs a command and waits for it, streaming output to {@code listener}. A non-zero exit is a result, not an
     * exception; a timeout kills the whole tree and returns {@code timedOut} with the output so far.
     *
     * @throws DerrickException when the working directory is missing, the shell cannot start, the runner is closed,
     *                          or the calling thread is interrupted (the interrupt flag is kept, the tree killed)
     */
    public ExecResult run(ProcessSpec spec, OutputListener listener) {
        Objects.requireNonNull(spec, "spec");
        if (closed) {
            throw new DerrickException("cannot run a command: its workspace is being closed");
        }
        if (!Files.isDirectory(spec.workingDir())) {
            throw new DerrickException("working directory " + spec.workingDir() + " does not exist or is not a directory");
        }
        OutputCapture capture = new OutputCapture(spec.maxOutputBytes(), listener);
        Run run = new Run(capture);
        live.add(run);
        ScheduledFuture<?> timer = null;
        long start = System.nanoTime();
        int exit;
        try {
            DefaultExecutor executor = DefaultExecutor.builder()
                    .setWorkingDirectory(spec.workingDir().toFile())
                    .setExecuteStreamHandler(run)
                    .get();
            executor.setExitValues(null);
            executor.setProcessDestroyer(run);
            if (spec.timeout() != null) {
                try {
                    timer = timers.schedule(() -> spawn(run::timeout), spec.timeout().toNanos(), TimeUnit.NANOSECONDS);
                } catch (RejectedExecutionException e) {
                    throw new DerrickException("cannot run a command: its workspace is being closed");
                }
            }
            exit = executor.execute(commandLine(spec.command()), spec.environment());
        } catch (IOException e) {
            run.kill();
            throw new DerrickException("could not run the command in " + spec.workingDir() + ": " + e.getMessage(), e);
        } finally {
            if (timer != null) {
                timer.cancel(false);
            }
            live.remove(run);
            run.finished();
        }
        Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
        if (exit == Executor.INVALID_EXITVALUE) {
            // Commons Exec destroyed the shell and cleared the flag when waitFor() was interrupted.
            run.kill();
            Thread.currentThread().interrupt();
            throw new DerrickException("interrupted while running a command; its processes were killed");
        }
        return capture.toResult(run.timedOut ? ExecResult.TIMED_OUT_EXIT_CODE : exit, elapsed, run.timedOut);
    }

    /**
     * Starts a command without waiting for it (a background process): stdin open, stdout and stderr for the caller to
     * drain, and {@link Started#killTree()} for its whole tree (its session, as for {@link #run}). {@link #killAll()}
     * and {@link #close()} kill it too. The spec's timeout and output cap are the caller's business.
     *
     * @throws DerrickException when the working directory is missing, the shell cannot start or the runner is closed
     */
    public Started start(ProcessSpec spec) {
        Objects.requireNonNull(spec, "spec");
        if (closed) {
            throw new DerrickException("cannot start a command: its workspace is being closed");
        }
        if (!Files.isDirectory(spec.workingDir())) {
            throw new DerrickException("working directory " + spec.workingDir() + " does not exist or is not a directory");
        }
        // the same command line as run(): [setsid] shell -c command
        ProcessBuilder pb = new ProcessBuilder(commandLine(spec.command()).toStrings()).directory(spec.workingDir().toFile());
        pb.environment().clear();
        pb.environment().putAll(spec.environment());
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new DerrickException("could not start the command in " + spec.workingDir() + ": " + e.getMessage(), e);
        }
        Started s = new Started(p, sessions);
        started.add(s);
        if (closed) {
            s.killTree();
            s.finished();
            throw new DerrickException("cannot start a command: its workspace is being closed");
        }
        return s;
    }

    /**
     * A command {@link #start started} in the background. The caller drains {@link #stdout()} and {@link #stderr()}
     * and calls {@link #finished()} once its shell has exited.
     */
    public final class Started {
        private final Process process;
        private final boolean session;
        private final AtomicBoolean done = new AtomicBoolean();

        Started(Process process, boolean session) {
            this.process = process;
            this.session = session;
        }

        public OutputStream stdin() {
            return process.getOutputStream();
        }

        public InputStream stdout() {
            return process.getInputStream();
        }

        public InputStream stderr() {
            return process.getErrorStream();
        }

        /** The shell (its pid leads the session when {@link #isolatesSessions()}). */
        public Process process() {
            return process;
        }

        /**
         * Kills the command's tree: SIGTERM to its session (whatever is left of it, also after its shell exited),
         * SIGKILL after the grace; without sessions the shell and its descendants. Returns once they are gone.
         */
        public void killTree() {
            if (session) {
                terminateSessions(Set.of(process.pid()));
                if (process.isAlive()) {
                    // killed right after start, before setsid(2) ran: it leads no session yet, so the session
                    // scan found nothing; it has started nothing either — kill it directly
                    killForcibly();
                    terminateSessions(Set.of(process.pid()));
                }
            } else {
                killForcibly();
            }
        }

        /** SIGKILL to the shell and its descendants. */
        private void killForcibly() {
            List<ProcessHandle> tree = new ArrayList<>(process.descendants().toList());
            tree.add(process.toHandle());
            tree.forEach(ProcessHandle::destroyForcibly);
        }

        /**
         * Its shell has exited: processes it left in its session are remembered for {@link #killAll()}. Idempotent.
         */
        public void finished() {
            if (done.compareAndSet(false, true)) {
                started.remove(this);
                if (session) {
                    finishedSessions.add(process.pid());
                }
            }
        }
    }

    /** Sessions of finished commands that may still have background processes (for tests). */
    int rememberedSessions() {
        return finishedSessions.size();
    }

    /** How many commands are running now. */
    public int liveCount() {
        return live.size();
    }

    /**
     * Kills every running command's process tree and every process left in the background by finished commands.
     * Blocks at most about twice the term grace.
     */
    public void killAll() {
        Set<Long> sids = new HashSet<>();
        List<Run> others = new ArrayList<>();
        for (Run run : live) {
            run.killing.set(true);
            Process p = run.process;
            if (p != null && run.session) {
                sids.add(p.pid());
            } else if (p != null) {
                others.add(run);
            }
        }
        if (sessions && !finishedSessions.isEmpty()) {
            for (Long sid : finishedSessions) {
                // A live process with that pid leading its own session is someone else's: the pid was reused.
                if (ProcessTree.session(sid).map(s -> s.equals(sid)).orElse(false) && !sids.contains(sid)) {
                    finishedSessions.remove(sid);
                    continue;
                }
                sids.add(sid);
            }
        }
        for (Run run : others) {
            spawn(run::killWithoutSession);
        }
        for (Started s : started) {
            if (s.session) {
                sids.add(s.process.pid());
            } else {
                spawn(s::killTree);
            }
        }
        terminateSessions(sids);
        finishedSessions.removeAll(sids);
    }

    /** Kills everything ({@link #killAll()}) and refuses new commands. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        killAll();
        timers.shutdownNow();
        threads.shutdown();
    }

    /** Runs on the pool, or on a thread of its own once the pool is shut down. */
    private Future<?> spawn(Runnable task) {
        try {
            return threads.submit(task);
        } catch (RejectedExecutionException e) {
            FutureTask<Void> future = new FutureTask<>(task, null);
            Thread t = new Thread(future, "derrick-exec-late-" + THREADS.incrementAndGet());
            t.setDaemon(true);
            t.start();
            return future;
        }
    }

    private CommandLine commandLine(String command) {
        CommandLine line;
        if (sessions) {
            line = new CommandLine(shell.setsid().toString());
            line.addArgument(shell.shell().toString(), false);
        } else {
            line = new CommandLine(shell.shell().toString());
        }
        line.addArgument("-c", false);
        line.addArgument(command, false);
        return line;
    }

    /** SIGTERM to every member of the sessions, SIGKILL to the rest after the grace, until none is left. */
    private void terminateSessions(Set<Long> sids) {
        if (sids.isEmpty()) {
            return;
        }
        List<Long> members = ProcessTree.members(sids);
        if (members.isEmpty()) {
            return;
        }
        LOG.debug("sending SIGTERM to {} process(es) in session(s) {}", members.size(), sids);
        ProcessTree.signal(members, false);
        if (awaitEmpty(sids, termGrace)) {
            return;
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        do {
            members = ProcessTree.members(sids);
            if (members.isEmpty()) {
                return;
            }
            LOG.debug("sending SIGKILL to {} process(es) in session(s) {}", members.size(), sids);
            ProcessTree.signal(members, true);
        } while (!awaitEmpty(sids, Duration.ofMillis(200)) && System.nanoTime() < deadline);
        if (!ProcessTree.members(sids).isEmpty()) {
            LOG.warn("processes of session(s) {} survived SIGKILL", sids);
        }
    }

    private static boolean awaitEmpty(Set<Long> sids, Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            if (ProcessTree.members(sids).isEmpty()) {
                return true;
            }
            if (System.nanoTime() >= deadline) {
                return false;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }

    private void pruneFinishedSessions() {
        if (finishedSessions.size() <= PRUNE_THRESHOLD || !pruning.compareAndSet(false, true)) {
            return;
        }
        try {
            Set<Long> inUse = new HashSet<>(ProcessTree.sessions().values());
            finishedSessions.retainAll(inUse);
        } finally {
            pruning.set(false);
        }
    }

    /** Output sink that drops everything once detached (after the command returned). */
    private static final class DetachableSink {
        private final OutputStream target;
        private volatile boolean detached;

        DetachableSink(OutputStream target) {
            this.target = target;
        }

        void write(byte[] b, int len) throws IOException {
            if (!detached) {
                target.write(b, 0, len);
            }
        }
    }

    /** One command: its process, its pumps, and its kill switch. */
    private final class Run implements ProcessDestroyer, ExecuteStreamHandler {
        private final DetachableSink out;
        private final DetachableSink err;
        private final AtomicBoolean killing = new AtomicBoolean();
        private volatile Process process;
        private volatile boolean session;
        private volatile boolean timedOut;
        private InputStream stdout;
        private InputStream stderr;
        private Future<?> outPump;
        private Future<?> errPump;

        Run(OutputCapture capture) {
            this.out = new DetachableSink(capture.stdoutSink());
            this.err = new DetachableSink(capture.stderrSink());
        }

        // ProcessDestroyer: Commons Exec hands us the process right after starting it.
        @Override
        public boolean add(Process p) {
            process = p;
            session = sessions;
            if (timedOut || killing.get() || closed) {
                killing.set(true);
                spawn(this::kill);
            }
            return true;
        }

        @Override
        public boolean remove(Process p) {
            return true;
        }

        @Override
        public int size() {
            return process == null ? 0 : 1;
        }

        // ExecuteStreamHandler
        @Override
        public void setProcessInputStream(OutputStream os) throws IOException {
            os.close(); // commands read EOF from stdin
        }

        @Override
        public void setProcessOutputStream(InputStream is) {
            stdout = is;
        }

        @Override
        public void setProcessErrorStream(InputStream is) {
            stderr = is;
        }

        @Override
        public void start() {
            outPump = spawn(() -> pump(stdout, out));
            errPump = spawn(() -> pump(stderr, err));
        }

        @Override
        public void stop() {
            long deadline = System.nanoTime() + pipeGrace.toNanos();
            boolean drained = await(outPump, deadline) & await(errPump, deadline);
            if (!drained) {
                out.detached = true;
                err.detached = true;
                LOG.debug("command exited but background processes keep its output open; returning without their output");
            }
        }

        private boolean await(Future<?> pump, long deadline) {
            try {
                pump.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                return true;
            } catch (TimeoutException e) {
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            } catch (ExecutionException e) {
                return true;
            }
        }

        private void pump(InputStream in, DetachableSink sink) {
            byte[] buffer = new byte[8192];
            try {
                int n;
                while ((n = in.read(buffer)) > 0) {
                    sink.write(buffer, n);
                }
            } catch (IOException e) {
                // stream closed: the command is over for us
            }
        }

        void timeout() {
            timedOut = true;
            kill();
        }

        /** Kills this command's whole tree. */
        void kill() {
            Process p = process;
            if (p == null) {
                killing.set(true); // add() kills it as soon as it is known
                return;
            }
            if (session) {
                killing.set(true);
                terminateSessions(Set.of(p.pid()));
            } else {
                killWithoutSession();
            }
        }

        void killWithoutSession() {
            Process p = process;
            if (p == null) {
                return;
            }
            List<ProcessHandle> tree = new ArrayList<>(p.descendants().toList());
            tree.add(p.toHandle());
            tree.forEach(ProcessHandle::destroy);
            long deadline = System.nanoTime() + termGrace.toNanos();
            while (tree.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < deadline) {
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            tree.addAll(p.descendants().toList());
            tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
        }

        void finished() {
            Process p = process;
            if (p != null && session) {
                finishedSessions.add(p.pid());
                if (finishedSessions.size() > PRUNE_THRESHOLD && !closed) {
                    spawn(ProcessRunner.this::pruneFinishedSessions);
                }
            }
        }
    }

    @Override
    public String toString() {
        return "ProcessRunner[" + shell.shell() + (sessions ? ", setsid" : "") + ", live=" + live.size() + "]";
    }
}
