package dev.derrick.api;

import dev.derrick.api.spi.Availability;
import dev.derrick.api.spi.WorkspaceProviderFactory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeMap;

/**
 * Finds workspace providers on the class path by name, through {@link ServiceLoader}.
 *
 * <pre>{@code
 * try (WorkspaceProvider local = WorkspaceProviders.open("local");
 *      Workspace ws = local.create(WorkspaceConfig.fromFile(Path.of("workspace.json")))) {
 *     System.out.println(ws.exec("git -C code/repo log -1 --oneline").stdout());
 * }
 * }</pre>
 *
 * <p>A jar with {@code META-INF/services/dev.derrick.api.spi.WorkspaceProviderFactory} on the class path adds a
 * backend with no other change. A broken jar is skipped and reported by {@link #problems()}; it does not hide the
 * others.
 */
public final class WorkspaceProviders {
    private WorkspaceProviders() {
    }

    /** Opens the named provider with no options. */
    public static WorkspaceProvider open(String name) {
        return open(name, Map.of());
    }

    /**
     * Opens the named provider.
     *
     * @throws ProviderNotFoundException listing the available names when there is no such provider
     * @throws IllegalArgumentException for an option the provider does not know
     */
    public static WorkspaceProvider open(String name, Map<String, ?> options) {
        return factory(name).open(options == null ? Map.of() : options);
    }

    /** The factory of that name. */
    public static WorkspaceProviderFactory factory(String name) {
        return find(name).orElseThrow(() -> new ProviderNotFoundException(name, available()));
    }

    /** The factory of that name, if one is on the class path. Names compare case-insensitively. */
    public static Optional<WorkspaceProviderFactory> find(String name) {
        if (name == null) {
            return Optional.empty();
        }
        return Optional.ofNullable(load().factories.get(name.toLowerCase(Locale.ROOT)));
    }

    /** The names of every provider on the class path, sorted. */
    public static List<String> available() {
        return List.copyOf(load().factories.keySet());
    }

    /** Every provider factory on the class path, sorted by name. */
    public static List<WorkspaceProviderFactory> factories() {
        return List.copyOf(load().factories.values());
    }

    /** Whether the named provider can work with these options, and why not. */
    public static Availability probe(String name, Map<String, ?> options) {
        return factory(name).probe(options == null ? Map.of() : options);
    }

    /** Providers that could not be loaded, each as "class: reason". */
    public static List<String> problems() {
        return load().problems;
    }

    private record Loaded(Map<String, WorkspaceProviderFactory> factories, List<String> problems) {
    }

    private static Loaded load() {
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        if (loader == null) {
            loader = WorkspaceProviders.class.getClassLoader();
        }
        Map<String, WorkspaceProviderFactory> found = new TreeMap<>();
        List<String> problems = new ArrayList<>();
        var iterator = ServiceLoader.load(WorkspaceProviderFactory.class, loader).stream().iterator();
        while (true) {
            ServiceLoader.Provider<WorkspaceProviderFactory> provider;
            try {
                if (!iterator.hasNext()) {
                    break;
                }
                provider = iterator.next();
            } catch (ServiceConfigurationError e) {
                problems.add(e.getMessage());
                continue;
            }
            try {
                WorkspaceProviderFactory factory = provider.get();
                String key = factory.name().toLowerCase(Locale.ROOT);
                found.putIfAbsent(key, factory);
            } catch (ServiceConfigurationError | RuntimeException | LinkageError e) {
                problems.add(provider.type().getName() + ": " + e);
            }
        }
        return new Loaded(Collections.unmodifiableMap(found), List.copyOf(problems));
    }
}
