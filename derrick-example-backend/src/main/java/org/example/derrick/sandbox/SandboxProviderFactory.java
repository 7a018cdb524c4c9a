package org.example.derrick.sandbox;

import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.spi.Availability;
import dev.derrick.api.spi.ProviderOptions;
import dev.derrick.api.spi.ProvisioningEngine;
import dev.derrick.api.spi.WorkspaceProviderFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;

/**
 * The "sandbox" provider: an example of a third-party derrick backend. It lives in its own jar, depends on
 * {@code derrick-api} only and is registered by one line in
 * {@code META-INF/services/dev.derrick.api.spi.WorkspaceProviderFactory}; nothing in derrick knows about it.
 *
 * <p>A sandbox workspace is a plain directory and commands run with {@code sh -c}. The provider implements
 * {@link dev.derrick.api.spi.ProvisioningBackend} (make a directory, run a script in it, copy it) and gets the rest
 * from derrick's provisioning engine: cloning with the tokens, the setup script, a cache of clean states, the
 * create-time fetch and update script. {@code reset()} and checkpoints are directory copies, {@code fetch()} runs the
 * {@code git} command. It isolates nothing beyond the directory, so it is a teaching example, not a security boundary.
 *
 * <pre>{@code
 * try (WorkspaceProvider sandbox = WorkspaceProviders.open("sandbox", Map.of("root", "/tmp/sandboxes"))) {
 *     Workspace ws = sandbox.create(config);
 * }
 * }</pre>
 *
 * Options: {@code root} (directory holding the workspaces; default {@code $TMPDIR/derrick-sandbox}) and
 * {@code default_timeout} (seconds or ISO-8601; default 10 minutes) and {@code environment} (the provider's own
 * environment, where {@code auth.token_env} names are looked up; default: this process's), and the engine's cache
 * options ({@code cache}, {@code cache_dir}, {@code cache_max_bytes}, {@code cache_max_age}, {@code require_fresh}).
 */
public final class SandboxProviderFactory implements WorkspaceProviderFactory {
    /** The provider's name. */
    public static final String NAME = "sandbox";
    /** The sandbox's own options, and the engine's (cache, cache_dir, …, read by the engine, see {@link ProvisioningEngine#OPTIONS}). */
    static final Set<String> OPTIONS = union(Set.of("root", "default_timeout", "environment"), ProvisioningEngine.OPTIONS);

    /** Constructors of factories do no I/O. */
    public SandboxProviderFactory() {
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "example third-party backend: plain directories, sh and the git command";
    }

    @Override
    public Set<String> supportedOptions() {
        return OPTIONS;
    }

    @Override
    public Availability probe(Map<String, ?> options) {
        ProviderOptions o = ProviderOptions.of(NAME, options, OPTIONS);
        if (!Files.isExecutable(Path.of("/bin/sh"))) {
            return Availability.no("no /bin/sh on this machine");
        }
        Path root = root(o);
        Path existing = root;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null || !Files.isWritable(existing)) {
            return Availability.no("cannot create workspaces under " + root + " (not writable)");
        }
        return Availability.yes("directories under " + root);
    }

    @Override
    public WorkspaceProvider open(Map<String, ?> options) {
        ProviderOptions o = ProviderOptions.of(NAME, options, OPTIONS);
        Duration timeout = o.duration("default_timeout", Duration.ofMinutes(10));
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("option 'default_timeout' of provider 'sandbox' must be positive, got " + timeout);
        }
        Map<String, String> environment = o.raw("environment").isPresent() ? o.stringMap("environment") : System.getenv();
        return new SandboxProvider(root(o), timeout, environment, options);
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> all = new java.util.HashSet<>(a);
        all.addAll(b);
        return Set.copyOf(all);
    }

    private static Path root(ProviderOptions o) {
        return o.path("root", Path.of(System.getProperty("java.io.tmpdir"), "derrick-sandbox")).toAbsolutePath().normalize();
    }
}
