package dev.derrick.server;

import dev.derrick.api.RepositoryState;
import dev.derrick.core.cache.CacheEntry;
import dev.derrick.core.cache.CacheOptions;
import dev.derrick.core.cache.CacheStore;
import dev.derrick.core.cache.EvictionPolicy;
import dev.derrick.docker.DockerCacheImages;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * {@code derrick cache list} and {@code derrick cache prune [--older-than D] [--keep-size S]}: the provisioning cache
 * of the built-in backends ({@code local} snapshot directories, {@code docker} committed images) as seen in a cache
 * directory. Entries in use by a live workspace are never pruned.
 */
@Command(name = "cache", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Inspect and prune the provisioning cache (clean states of workspace configs).",
        subcommands = {CacheCommand.ListEntries.class, CacheCommand.Prune.class},
        footer = {"", "Exit codes: 0 done, 1 cache directory unusable, 2 bad input."})
final class CacheCommand implements Callable<Integer> {
    static final List<String> BACKENDS = List.of("local", "docker");

    @Option(names = "--cache-dir", paramLabel = "<dir>", scope = ScopeType.INHERIT,
            description = "Cache directory (default: $DERRICK_CACHE_DIR, else $XDG_CACHE_HOME/derrick, else ~/.cache/derrick).")
    Path cacheDir;

    private final Map<String, String> environment;
    private final PrintWriter out;
    private final PrintWriter err;

    CacheCommand(Map<String, String> environment, PrintWriter out, PrintWriter err) {
        this.environment = environment;
        this.out = out;
        this.err = err;
    }

    /** A command line for {@code derrick cache …} with derrick's error handling. */
    static CommandLine commandLine(Map<String, String> environment, PrintWriter out, PrintWriter err) {
        CommandLine cmd = new CommandLine(new CacheCommand(environment, out, err));
        cmd.setOut(out);
        cmd.setErr(err);
        cmd.setParameterExceptionHandler((ex, a) -> {
            err.println("derrick cache: " + ex.getMessage() + " (see --help)");
            return 2;
        });
        cmd.setExecutionExceptionHandler((ex, c, parsed) -> {
            err.println("derrick cache: " + String.valueOf(ex.getMessage()).lines().findFirst().orElse(""));
            return ex instanceof IllegalArgumentException ? 2 : 1;
        });
        return cmd;
    }

    @Override
    public Integer call() {
        out.println("usage: derrick cache list | derrick cache prune [--older-than D] [--keep-size S] (see --help)");
        return 2;
    }

    Path dir() {
        return cacheDir != null ? cacheDir : CacheOptions.defaultDir(environment);
    }

    /** The stores that exist in the cache directory (nothing is created by looking). */
    List<CacheStore> stores() {
        List<CacheStore> stores = new ArrayList<>();
        for (String backend : BACKENDS) {
            if (Files.isDirectory(dir().resolve(backend))) {
                stores.add(new CacheStore(dir(), backend, backend.equals("docker") ? dockerImageRemover() : null));
            }
        }
        return stores;
    }

    private Consumer<CacheEntry> dockerImageRemover() {
        return entry -> {
            try {
                DockerCacheImages.remove(entry.payload(), environment);
            } catch (RuntimeException e) {
                err.println("derrick cache: image " + entry.details().getOrDefault("image", entry.payload())
                        + " not removed (" + String.valueOf(e.getMessage()).lines().findFirst().orElse("")
                        + "); the docker provider removes it when it next starts");
            }
        };
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists cache entries, most recently used first.")
    static final class ListEntries implements Callable<Integer> {
        @CommandLine.ParentCommand
        CacheCommand parent;

        @Override
        public Integer call() {
            PrintWriter out = parent.out;
            List<CacheStore> stores = parent.stores();
            out.printf(Locale.ROOT, "%-7s %-12s %-24s %9s %-20s %-20s %6s  %s%n", "BACKEND", "KEY", "CONFIG", "SIZE",
                    "CREATED", "LAST USED", "IN USE", "REPOSITORIES");
            long total = 0;
            int count = 0;
            for (CacheStore store : stores) {
                for (CacheStore.Status s : store.list()) {
                    CacheEntry e = s.entry();
                    out.printf(Locale.ROOT, "%-7s %-12s %-24s %9s %-20s %-20s %6s  %s%n", e.backend(), e.key().substring(0, 12),
                            abbreviate(e.configName(), 24), human(e.sizeBytes()), time(e.created()), time(e.lastUsed()),
                            s.leases() + (s.superseded() ? "*" : ""), repos(e.repositories()));
                    total += e.sizeBytes();
                    count++;
                }
            }
            out.printf(Locale.ROOT, "%d entr%s, %s in %s%n", count, count == 1 ? "y" : "ies", human(total), parent.dir());
            // The bound each backend's provider applies (recorded by the last one started; else the default).
            for (String backend : BACKENDS) {
                java.util.Optional<EvictionPolicy> recorded = stores.stream().filter(s -> s.backend().equals(backend))
                        .findFirst().flatMap(CacheStore::recordedPolicy);
                out.printf(Locale.ROOT, "%s bound: %s (%s)%n", backend,
                        recorded.orElse(CacheOptions.defaultEviction()).describe(), recorded.isPresent()
                                ? "cache_max_bytes/cache_max_age of the last " + backend + " provider started here"
                                : "default; set cache_max_bytes/cache_max_age, 'none' for no bound");
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "prune", mixinStandardHelpOptions = true,
            description = "Removes entries unused for longer than --older-than, then least recently used ones until the"
                    + " total is at most --keep-size. Without either, removes every entry not in use.")
    static final class Prune implements Callable<Integer> {
        @CommandLine.ParentCommand
        CacheCommand parent;

        @Option(names = "--older-than", paramLabel = "<duration>",
                description = "e.g. 30m, 12h, 14d, or ISO-8601 (P14D).")
        String olderThan;

        @Option(names = "--keep-size", paramLabel = "<size>", description = "e.g. 500m, 20g.")
        String keepSize;

        @Override
        public Integer call() {
            Duration age = olderThan == null ? null : CacheOptions.parseDuration(olderThan, "--older-than");
            long size = keepSize == null ? 0 : CacheOptions.parseSize(keepSize, "--keep-size");
            // Age per store; the size bound is over every backend together (below), least recently used first.
            EvictionPolicy policy = age == null && keepSize == null ? new EvictionPolicy(Duration.ZERO, 0)
                    : new EvictionPolicy(age, 0);
            PrintWriter out = parent.out;
            int removed = 0;
            long freed = 0;
            int inUse = 0;
            List<CacheStore> stores = parent.stores();
            for (CacheStore store : stores) {
                store.collectGarbage();
                for (CacheEntry e : store.prune(policy)) {
                    out.printf(Locale.ROOT, "removed %s %s (%s, %s)%n", e.backend(), e.key().substring(0, 12),
                            e.configName(), human(e.sizeBytes()));
                    removed++;
                    freed += e.sizeBytes();
                }
            }
            if (keepSize != null) {
                List<CacheStore.Status> all = new ArrayList<>();
                Map<String, CacheStore> byBackend = stores.stream().collect(Collectors.toMap(CacheStore::backend, s -> s));
                stores.forEach(s -> all.addAll(s.list()));
                all.sort((a, b) -> a.entry().lastUsed().compareTo(b.entry().lastUsed()));
                long total = all.stream().mapToLong(s -> s.entry().sizeBytes()).sum();
                for (CacheStore.Status s : all) {
                    if (total <= size) {
                        break;
                    }
                    if (!s.inUse() && byBackend.get(s.entry().backend()).remove(s.entry())) {
                        CacheEntry e = s.entry();
                        out.printf(Locale.ROOT, "removed %s %s (%s, %s)%n", e.backend(), e.key().substring(0, 12),
                                e.configName(), human(e.sizeBytes()));
                        removed++;
                        freed += e.sizeBytes();
                        total -= e.sizeBytes();
                    }
                }
            }
            for (CacheStore store : stores) {
                inUse += (int) store.list().stream().filter(CacheStore.Status::inUse).count();
            }
            out.printf(Locale.ROOT, "removed %d entr%s, freed %s%s%n", removed, removed == 1 ? "y" : "ies", human(freed),
                    inUse > 0 ? "; " + inUse + " in use kept" : "");
            out.flush();
            return 0;
        }
    }

    static String human(long bytes) {
        return dev.derrick.core.cache.EvictionPolicy.humanBytes(bytes);
    }

    static String time(Instant t) {
        return t == null ? "-" : t.truncatedTo(ChronoUnit.SECONDS).toString().replace('T', ' ').replace("Z", "");
    }

    static String abbreviate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 1) + "…";
    }

    static String repos(List<RepositoryState> repos) {
        return repos.stream().map(r -> r.path() + "@" + (r.commit() == null ? "?" : r.commit().substring(0, 10)))
                .collect(Collectors.joining(" "));
    }
}
