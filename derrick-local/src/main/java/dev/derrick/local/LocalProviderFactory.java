package dev.derrick.local;

import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.spi.Availability;
import dev.derrick.api.spi.ProviderOptions;
import dev.derrick.api.spi.WorkspaceProviderFactory;
import dev.derrick.core.cache.CacheOptions;
import dev.derrick.core.pool.WorkspacePool;
import dev.derrick.core.exec.OutputCapture;
import dev.derrick.core.limits.ResourceLimits;
import dev.derrick.local.internal.cache.LocalCache;

import dev.derrick.local.internal.sandbox.SandboxSupport;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code local} provider: workspaces are directories on this machine and commands are local processes.
 *
 * <p>Options (all optional):
 * <ul>
 *   <li>{@code root}: directory the workspaces are created in (default {@code <java.io.tmpdir>/derrick-workspaces})</li>
 *   <li>{@code max_output_bytes}: cap per captured stream of a command (default 4 MiB)</li>
 *   <li>{@code default_timeout}: timeout of a command that gives none (seconds or ISO-8601; default 10 minutes)</li>
 *   <li>{@code setup_timeout}: timeout of the setup script (default 30 minutes)</li>
 *   <li>{@code environment}: the provider's environment, where {@code auth.token_env} names are looked up and the
 *       command allow-list is taken from (a {@code Map}; default the JVM's environment)</li>
 *   <li>{@code cache}, {@code cache_dir}, {@code cache_max_bytes}, {@code cache_max_age}, {@code require_fresh}: the
 *       provisioning cache (see {@link dev.derrick.core.cache.CacheOptions}; on by default, bounded to 10 GiB and
 *       30 days unused)</li>
 *   <li>{@code cache_mode}: {@code auto} (overlay mount where possible — Linux as root — else copy), {@code overlay}
 *       or {@code copy}</li>
 *   <li>{@code isolation}: {@code auto} (default: {@code sandbox} where bubblewrap works, else {@code none}),
 *       {@code sandbox} (fail to start without it) or {@code none} (no isolation; a WARN says so)</li>
 *   <li>{@code sandbox_uid}: uid of sandboxed commands when the provider runs as root (default 59999; must own
 *       nothing on the host)</li>
 *   <li>{@code sandbox_ro_paths}: more host paths mounted read-only at the same place in every sandbox, comma
 *       separated (e.g. {@code /opt})</li>
 *   <li>{@code bwrap}: path of the bubblewrap executable (default: found in /usr/bin, /bin, /usr/local/bin)</li>
 *   <li>{@code network_host_loopback}: {@code true} lets sandboxed phases with network {@code "on"} reach the host's
 *       127.0.0.1 at 10.0.2.2 (default {@code false}: the host's loopback — the derrick API, git servers — is out of
 *       reach). A workspace config's {@code network} field ({@code "on"}, {@code "off"}, or per phase) is honoured
 *       in the sandbox: off is a network namespace with loopback only, on a slirp4netns user-mode network</li>
 *   <li>{@code memory} (e.g. {@code 512m}), {@code cpus} (e.g. {@code 1.5}), {@code pids} (e.g. {@code 256}, at least
 *       8): limits of each sandboxed workspace, docker's names and notation; enforced by cgroups where usable, else
 *       per process by {@code prlimit} (memory, and pids for a root provider), else not — the start-up WARN and
 *       {@code info()} say how each is enforced. Refused with {@code isolation=none}</li>
 *   <li>{@code pool}: workspaces kept ready per config ({@link WorkspacePool}; default 0, none): a create claims one
 *       and a replacement is made in the background; a create's env then goes to its commands, not to the setup</li>
 * </ul>
 */
public final class LocalProviderFactory implements WorkspaceProviderFactory {
    /** The provider's name. */
    public static final String NAME = "local";
    public static final String ROOT = "root";
    public static final String MAX_OUTPUT_BYTES = "max_output_bytes";
    public static final String DEFAULT_TIMEOUT = "default_timeout";
    public static final String SETUP_TIMEOUT = "setup_timeout";
    public static final String ENVIRONMENT = "environment";
    public static final String CACHE_MODE = "cache_mode";
    public static final String ISOLATION = "isolation";
    public static final String SANDBOX_UID = "sandbox_uid";
    public static final String SANDBOX_RO_PATHS = "sandbox_ro_paths";
    public static final String BWRAP = "bwrap";
    public static final String NETWORK_HOST_LOOPBACK = "network_host_loopback";
    private static final Set<String> OPTIONS = union(Set.of(ROOT, MAX_OUTPUT_BYTES, DEFAULT_TIMEOUT, SETUP_TIMEOUT,
            ENVIRONMENT, CACHE_MODE, ISOLATION, SANDBOX_UID, SANDBOX_RO_PATHS, BWRAP, NETWORK_HOST_LOOPBACK,
            ResourceLimits.MEMORY, ResourceLimits.CPUS, ResourceLimits.PIDS, WorkspacePool.OPTION), CacheOptions.KEYS);

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> all = new java.util.HashSet<>(a);
        all.addAll(b);
        return Set.copyOf(all);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "workspaces as directories on this machine, commands sandboxed with bubblewrap (isolation=auto|sandbox|none)";
    }

    @Override
    public Set<String> supportedOptions() {
        return OPTIONS;
    }

    @Override
    public Availability probe(Map<String, ?> options) {
        LocalWorkspaceProvider.Settings settings;
        try {
            settings = settings(options);
        } catch (IllegalArgumentException e) {
            return Availability.no(e.getMessage());
        }
        Path existing = settings.root().toAbsolutePath();
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null || !Files.isDirectory(existing) || !Files.isWritable(existing)) {
            return Availability.no("workspace root " + settings.root() + " cannot be created or written");
        }
        return Availability.yes("local workspaces under " + settings.root());
    }

    @Override
    public WorkspaceProvider open(Map<String, ?> options) {
        LocalWorkspaceProvider.Settings settings = settings(options);
        ProviderOptions o = ProviderOptions.of(NAME, options, OPTIONS);
        CacheOptions cache = CacheOptions.parse(o, settings.environment());
        LocalCache.Mode mode = LocalCache.Mode.parse(o.string(CACHE_MODE, "auto"));
        // a pool (option 'pool') goes in front of the provider: claims and refills are the pool's, creates the provider's
        return WorkspacePool.wrapIfAsked(new LocalWorkspaceProvider(settings, cache.enabled() ? cache : null, mode),
                options, settings.environment());
    }

    static LocalWorkspaceProvider.Settings settings(Map<String, ?> options) {
        ProviderOptions o = ProviderOptions.of(NAME, options, OPTIONS);
        Path root = o.path(ROOT, Path.of(System.getProperty("java.io.tmpdir"), "derrick-workspaces"));
        long maxOutput = o.longValue(MAX_OUTPUT_BYTES, OutputCapture.DEFAULT_MAX_BYTES);
        if (maxOutput <= 0 || maxOutput > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("option '" + MAX_OUTPUT_BYTES + "' of provider 'local' must be between 1 and "
                    + (Integer.MAX_VALUE - 16) + ", got " + maxOutput);
        }
        Duration timeout = positive(o.duration(DEFAULT_TIMEOUT, LocalWorkspaceProvider.Settings.DEFAULT_TIMEOUT), DEFAULT_TIMEOUT);
        Duration setup = positive(o.duration(SETUP_TIMEOUT, LocalWorkspaceProvider.Settings.DEFAULT_SETUP_TIMEOUT), SETUP_TIMEOUT);
        Map<String, String> environment = o.raw(ENVIRONMENT).isPresent() ? o.stringMap(ENVIRONMENT) : System.getenv();
        Isolation isolation = Isolation.parse(o.string(ISOLATION, "auto"));
        Integer uid = null;
        if (o.raw(SANDBOX_UID).isPresent()) {
            long u = o.longValue(SANDBOX_UID, SandboxSupport.DEFAULT_UID);
            if (u <= 0 || u > 4_294_967_294L) {
                throw new IllegalArgumentException("option '" + SANDBOX_UID + "' of provider 'local' must be a uid above 0, got " + u);
            }
            uid = (int) u;
        }
        List<Path> readOnly = new ArrayList<>();
        for (String part : o.string(SANDBOX_RO_PATHS, "").split(",")) {
            if (!part.isBlank()) {
                Path p = Path.of(part.strip());
                if (!p.isAbsolute()) {
                    throw new IllegalArgumentException("option '" + SANDBOX_RO_PATHS + "' of provider 'local' takes absolute paths, got '" + part.strip() + "'");
                }
                readOnly.add(p.normalize());
            }
        }
        ResourceLimits limits = ResourceLimits.parse(o, NAME);
        if (limits.pids() > 0 && limits.pids() < 8) {
            throw new IllegalArgumentException("option '" + ResourceLimits.PIDS + "' of provider 'local' must be at least 8"
                    + " (a sandbox's holder takes 3 processes, each command's shell 1), got " + limits.pids());
        }
        if (isolation == Isolation.NONE && !limits.isEmpty()) {
            throw new IllegalArgumentException("options memory, cpus and pids of provider 'local' are enforced in its"
                    + " sandbox; with isolation=none they cannot be (got " + limits + ")");
        }
        boolean hostLoopback = o.bool(NETWORK_HOST_LOOPBACK, false);
        return new LocalWorkspaceProvider.Settings(root, maxOutput, timeout, setup, environment, isolation, uid, readOnly,
                o.path(BWRAP, null), limits, hostLoopback);
    }

    private static Duration positive(Duration d, String key) {
        if (d.isZero() || d.isNegative()) {
            throw new IllegalArgumentException("option '" + key + "' of provider 'local' must be positive, got " + d);
        }
        return d;
    }
}
