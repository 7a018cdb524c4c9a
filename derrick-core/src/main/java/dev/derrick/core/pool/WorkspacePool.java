package dev.derrick.core.pool;

import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.OutputListener;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryState;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceInfo;
import dev.derrick.api.WorkspaceProcess;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.core.Redactor;
import dev.derrick.core.git.GitClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A warm pool in front of any {@link WorkspaceProvider}: for each workspace config in use it keeps {@code size}
 * workspaces already made from the config's clean state; a create claims one and a replacement is made in the
 * background. The provider option {@code pool} (CLI {@code --pool N}) puts one in front of {@code local} and
 * {@code docker}; a library user can wrap any provider with {@link #WorkspacePool(WorkspaceProvider, int, Map)}.
 *
 * <p><b>Never behind its remote.</b> A claim asks each repository's remote where its branch is ({@code ls-remote},
 * no objects transferred, the provider's token for that host only); a pooled workspace whose repositories are not at
 * those commits is discarded and the create goes to the provider, which fetches and runs the update script as a create
 * from the cache does. The pool refills with the newer state. A remote that cannot be reached does the same (the
 * provider then decides: a WARN, or a failure with {@code require_fresh}).
 *
 * <p><b>A create's env.</b> With a pool, the {@code env} of a create request ({@link #create(WorkspaceConfig, Map,
 * ProgressListener)}, HTTP {@code POST /workspaces {"env": …}}) is the env of the workspace's <em>commands</em>: it is
 * applied to every command and background process, under each request's own env, and not to the setup script —
 * so that requests with different env share one clean state and one pool. (Without a pool the env is part of the
 * config, setup script included.) Put what the setup script needs into the config's own {@code env}.
 *
 * <p>Pooled workspaces that are not claimed yet are not in {@link #list()} and cannot be found by id. At most
 * {@link #MAX_CONFIGS} configs are pooled at once (API-supplied configs could otherwise fill the machine); creates
 * of further configs go straight to the provider. {@link #stats()} and the INFO log say how the pool does.
 */
public final class WorkspacePool implements WorkspaceProvider {
    private static final Logger LOG = LoggerFactory.getLogger(WorkspacePool.class);
    /** The provider option naming the pool size per config. */
    public static final String OPTION = "pool";
    /** The most configs pooled at once. */
    public static final int MAX_CONFIGS = 16;
    /**
     * How long after a claim its replacement starts: the claimed workspace's first commands then do not share the
     * CPU with a create (measured: the first {@code exec} after a claim took 3× longer with an immediate refill).
     */
    static final long REFILL_DELAY_MS = 250;

    /** How the pool does, for {@code info}, logs and benchmarks. */
    public record Stats(int size, int configs, int ready, long hits, long misses, long stale) {
    }

    private record Member(Workspace workspace, Map<String, String> commits) {
    }

    private final WorkspaceProvider delegate;
    private final int size;
    private final Redactor redactor = new Redactor();
    private final GitClient git;
    private final Map<WorkspaceConfig, ConcurrentLinkedDeque<Member>> ready = new ConcurrentHashMap<>();
    private final Map<WorkspaceConfig, AtomicInteger> pending = new ConcurrentHashMap<>();
    /** Ids of pooled workspaces not claimed yet: hidden from list() and find(). */
    private final Set<String> unclaimed = ConcurrentHashMap.newKeySet();
    /** Claimed workspaces handed out as decorators (command env, claim time), by id. */
    private final Map<String, Claimed> claimed = new ConcurrentHashMap<>();
    private final ScheduledExecutorService refills;
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong misses = new AtomicLong();
    private final AtomicLong stale = new AtomicLong();
    private volatile boolean closed;

    /**
     * @param delegate    the provider that makes the workspaces
     * @param size        workspaces kept per config (at least 1)
     * @param environment the provider's environment, where the configs' {@code auth.token_env} tokens are looked up
     *                    for the claim-time {@code ls-remote}
     */
    public WorkspacePool(WorkspaceProvider delegate, int size, Map<String, String> environment) {
        this.delegate = Objects.requireNonNull(delegate, "delegate");
        if (size < 1) {
            throw new IllegalArgumentException("pool size must be at least 1, got " + size);
        }
        this.size = size;
        this.git = new GitClient(Map.copyOf(environment == null ? Map.of() : environment), redactor);
        this.refills = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "derrick-pool-" + delegate.name());
            t.setDaemon(true);
            return t;
        });
        LOG.info("{} provider: a warm pool of {} workspace(s) per config", delegate.name(), size);
    }

    /**
     * The provider as it is ({@code options} without {@link #OPTION}, or {@code 0}), or in front of a pool.
     *
     * @throws IllegalArgumentException when the option is not a whole number ≥ 0
     */
    public static WorkspaceProvider wrapIfAsked(WorkspaceProvider provider, Map<String, ?> options,
                                                Map<String, String> environment) {
        Object value = options == null ? null : options.get(OPTION);
        if (value == null) {
            return provider;
        }
        int n;
        try {
            n = value instanceof Number number ? Math.toIntExact(number.longValue()) : Integer.parseInt(value.toString().trim());
        } catch (NumberFormatException | ArithmeticException e) {
            provider.close();
            throw new IllegalArgumentException("option '" + OPTION + "' of provider '" + provider.name()
                    + "' must be a whole number of workspaces per config, got '" + value + "'");
        }
        if (n < 0 || n > 1000) {
            provider.close();
            throw new IllegalArgumentException("option '" + OPTION + "' of provider '" + provider.name()
                    + "' must be between 0 and 1000, got " + n);
        }
        return n == 0 ? provider : new WorkspacePool(provider, n, environment);
    }

    /** The provider behind the pool. */
    public WorkspaceProvider delegate() {
        return delegate;
    }

    @Override
    public String name() {
        return delegate.name();
    }

    @Override
    public Workspace create(WorkspaceConfig config, ProgressListener progress) {
        return create(config, Map.of(), progress);
    }

    /**
     * Claims a pooled workspace of {@code config} (or has the provider make one when none is ready, or the ready one
     * is behind its remote) and has the pool make a replacement.
     *
     * @param commandEnv env of the workspace's commands (not of its setup script): see the class comment
     */
    public Workspace create(WorkspaceConfig config, Map<String, String> commandEnv, ProgressListener progress) {
        Objects.requireNonNull(config, "config");
        if (closed) {
            throw new IllegalStateException("the workspace pool of provider '" + delegate.name() + "' is closed");
        }
        Map<String, String> env = commandEnv == null ? Map.of() : Map.copyOf(commandEnv);
        Member member = claim(config);
        Workspace workspace;
        if (member != null) {
            hits.incrementAndGet();
            workspace = member.workspace();
            LOG.info("workspace {} from the pool of '{}' ({} ready; {})", workspace.id(), config.name(),
                    readyCount(config), counts());
        } else {
            misses.incrementAndGet();
            workspace = delegate.create(config, progress);
            LOG.info("workspace {} made on demand: the pool of '{}' had none ready ({})", workspace.id(), config.name(),
                    counts());
        }
        refill(config, member != null ? REFILL_DELAY_MS : 0);
        Claimed handedOut = new Claimed(workspace, env, Instant.now());
        claimed.put(workspace.id(), handedOut);
        return handedOut;
    }

    /** A ready member that is where its remotes are, or {@code null}. Members found behind are discarded. */
    private Member claim(WorkspaceConfig config) {
        ConcurrentLinkedDeque<Member> queue = ready.get(config);
        if (queue == null) {
            return null;
        }
        Map<String, String> heads = null;
        for (Member m; (m = queue.pollFirst()) != null; ) {
            unclaimed.remove(m.workspace().id());
            if (heads == null) {
                heads = remoteHeads(config);
            }
            if (heads != null && isAt(m, heads)) {
                return m;
            }
            stale.incrementAndGet();
            LOG.info("pooled workspace {} of '{}' is behind its remote{}; discarding it", m.workspace().id(),
                    config.name(), heads == null ? " (or the remote cannot be reached)" : "");
            closeQuietly(m.workspace());
        }
        return null;
    }

    /** Per repository path, the commit of the remote's branch now; {@code null} when a remote cannot be reached. */
    private Map<String, String> remoteHeads(WorkspaceConfig config) {
        Map<String, String> heads = new HashMap<>();
        for (RepositoryConfig repo : config.repositories()) {
            try {
                // the client's credentials for the repository add its token to this pool's redactor
                git.remoteHead(repo).ifPresent(commit -> heads.put(repo.path(), commit));
            } catch (RuntimeException e) {
                LOG.warn("pool of '{}': cannot ask {} where it is: {}", config.name(), repo.displayName(),
                        redactor.redact(String.valueOf(e.getMessage())));
                return null;
            }
        }
        return heads;
    }

    private static boolean isAt(Member m, Map<String, String> heads) {
        for (Map.Entry<String, String> head : heads.entrySet()) {
            if (!head.getValue().equals(m.commits().get(head.getKey()))) {
                return false;
            }
        }
        return true;
    }

    /** Tops the config's pool up to {@code size} in the background, starting after {@code delayMs}. */
    private void refill(WorkspaceConfig config, long delayMs) {
        if (closed) {
            return;
        }
        if (!ready.containsKey(config)) {
            if (ready.size() >= MAX_CONFIGS) {
                LOG.debug("not pooling '{}': {} configs are pooled already", config.name(), MAX_CONFIGS);
                return;
            }
            ready.putIfAbsent(config, new ConcurrentLinkedDeque<>());
        }
        AtomicInteger inFlight = pending.computeIfAbsent(config, c -> new AtomicInteger());
        while (true) {
            int now = inFlight.get();
            if (readyCount(config) + now >= size) {
                return;
            }
            if (!inFlight.compareAndSet(now, now + 1)) {
                continue;
            }
            try {
                refills.schedule(() -> makeOne(config, inFlight), delayMs, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                inFlight.decrementAndGet();
                return;
            }
        }
    }

    private void makeOne(WorkspaceConfig config, AtomicInteger inFlight) {
        Workspace made = null;
        try {
            if (closed) {
                return;
            }
            made = delegate.create(config, ProgressListener.NONE);
            Map<String, String> commits = new HashMap<>();
            for (RepositoryState r : made.info().repositories()) {
                if (r.commit() != null) {
                    commits.put(r.path(), r.commit());
                }
            }
            unclaimed.add(made.id());
            ready.get(config).addLast(new Member(made, commits));
            if (closed) {
                drain();
            }
            LOG.debug("pool of '{}': {} ready", config.name(), readyCount(config));
        } catch (RuntimeException e) {
            if (made != null) {
                unclaimed.remove(made.id());
                closeQuietly(made);
            }
            LOG.warn("pool of '{}': making a workspace failed: {}", config.name(), redactor.redact(String.valueOf(e.getMessage())));
        } finally {
            inFlight.decrementAndGet();
        }
    }

    private String counts() {
        return "pool hits " + hits.get() + ", misses " + misses.get() + ", found behind " + stale.get();
    }

    private int readyCount(WorkspaceConfig config) {
        ConcurrentLinkedDeque<Member> q = ready.get(config);
        return q == null ? 0 : q.size();
    }

    /** Waits until no refill is queued or running (tests, benchmarks). */
    public void awaitIdle(java.time.Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (pending.values().stream().anyMatch(p -> p.get() > 0)) {
            if (System.nanoTime() > deadline) {
                throw new java.util.concurrent.TimeoutException("the pool is still refilling after " + timeout);
            }
            Thread.sleep(5);
        }
    }

    /** Pool size, configs pooled, workspaces ready, and claims served from it, made by the provider, found behind. */
    public Stats stats() {
        int readyNow = ready.values().stream().mapToInt(ConcurrentLinkedDeque::size).sum();
        return new Stats(size, ready.size(), readyNow, hits.get(), misses.get(), stale.get());
    }

    @Override
    public List<Workspace> list() {
        List<Workspace> out = new ArrayList<>();
        for (Workspace w : delegate.list()) {
            if (unclaimed.contains(w.id())) {
                continue;
            }
            Claimed c = claimed.get(w.id());
            out.add(c != null ? c : w);
        }
        return List.copyOf(out);
    }

    @Override
    public Optional<Workspace> find(String id) {
        if (id == null || unclaimed.contains(id)) {
            return Optional.empty();
        }
        Optional<Workspace> found = delegate.find(id);
        Claimed c = claimed.get(id);
        if (found.isEmpty() && c != null) {
            claimed.remove(id); // closed behind the pool's back (the provider's shutdown, a reaper)
        }
        return c != null && found.isPresent() ? Optional.of(c) : found;
    }

    /** Closes the pooled workspaces, then the provider. */
    @Override
    public void close() {
        closed = true;
        refills.shutdown();
        try {
            if (!refills.awaitTermination(30, TimeUnit.SECONDS)) {
                refills.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            refills.shutdownNow();
        }
        drain();
        Stats s = stats();
        LOG.info("{} provider's pool closed: {} claims from the pool, {} made on demand, {} found behind", delegate.name(),
                s.hits(), s.misses(), s.stale());
        claimed.clear();
        delegate.close();
    }

    private void drain() {
        for (ConcurrentLinkedDeque<Member> q : ready.values()) {
            for (Member m; (m = q.pollFirst()) != null; ) {
                unclaimed.remove(m.workspace().id());
                closeQuietly(m.workspace());
            }
        }
    }

    private static void closeQuietly(Workspace w) {
        try {
            w.close();
        } catch (RuntimeException e) {
            LOG.warn("closing pooled workspace {} failed: {}", w.id(), e.getMessage());
        }
    }

    /** A handed-out workspace: its commands get the create's env; {@code created} is when it was handed out. */
    private final class Claimed extends ForwardingWorkspace {
        private final Map<String, String> env;
        private final Instant handedOut;

        Claimed(Workspace delegate, Map<String, String> env, Instant handedOut) {
            super(delegate);
            this.env = env;
            this.handedOut = handedOut;
        }

        private ExecRequest withEnv(ExecRequest request) {
            if (env.isEmpty()) {
                return request;
            }
            Map<String, String> merged = new LinkedHashMap<>(env);
            merged.putAll(request.env()); // the request's own env wins
            return new ExecRequest(request.command(), request.workingDir(), merged, request.timeout(), request.argv());
        }

        @Override
        public ExecResult exec(ExecRequest request, OutputListener listener) {
            return super.exec(withEnv(request), listener);
        }

        @Override
        public WorkspaceProcess start(ExecRequest request) {
            return super.start(withEnv(request));
        }

        @Override
        public WorkspaceInfo info() {
            WorkspaceInfo i = super.info();
            return new WorkspaceInfo(i.id(), i.provider(), i.configName(), i.root(), handedOut, i.repositories(),
                    i.cacheEntry(), i.isolation());
        }

        @Override
        public void close() {
            try {
                super.close();
            } finally {
                claimed.remove(id());
            }
        }
    }
}
