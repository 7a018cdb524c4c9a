package dev.derrick.junit.testing;

import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.FileEntry;
import dev.derrick.api.OutputListener;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.SetupFailedException;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceInfo;
import dev.derrick.api.WorkspacePaths;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.spi.ProviderOptions;
import dev.derrick.api.spi.WorkspaceProviderFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A deliberately small provider for the extension's own tests, so they do not depend on what another module
 * provides: a workspace is a directory, the setup script runs with {@code sh -c}, reset copies back a snapshot taken
 * after setup. No repositories. Counts opens and closes so tests can check that the extension closes what it opened.
 */
public final class DirsProviderFactory implements WorkspaceProviderFactory {
    public static final AtomicInteger OPENED = new AtomicInteger();
    public static final AtomicInteger CLOSED = new AtomicInteger();

    @Override
    public String name() {
        return "test_dirs";
    }

    @Override
    public String description() {
        return "directories for derrick-junit's tests";
    }

    @Override
    public Set<String> supportedOptions() {
        return Set.of("root");
    }

    @Override
    public WorkspaceProvider open(Map<String, ?> options) {
        ProviderOptions o = ProviderOptions.of(name(), options, supportedOptions());
        Path root = o.path("root", Path.of(System.getProperty("java.io.tmpdir"), "derrick-junit-test-dirs"));
        OPENED.incrementAndGet();
        return new Provider(root);
    }

    static final class Provider implements WorkspaceProvider {
        private final Path root;
        private final List<Dir> live = new CopyOnWriteArrayList<>();
        private volatile boolean closed;

        Provider(Path root) {
            this.root = root;
        }

        @Override
        public String name() {
            return "test_dirs";
        }

        @Override
        public Workspace create(WorkspaceConfig config, ProgressListener progress) {
            if (closed) {
                throw new IllegalStateException("closed");
            }
            String id = UUID.randomUUID().toString().substring(0, 8);
            try {
                Path dir = Files.createDirectories(root.resolve(id + "/ws"));
                Dir ws = new Dir(this, id, dir, config);
                ExecResult setup = ws.exec(ExecRequest.of(config.setupScript().isEmpty() ? "true" : config.setupScript()));
                if (!setup.succeeded()) {
                    delete(dir.getParent());
                    throw new SetupFailedException("setup script failed with exit code " + setup.exitCode(), setup.exitCode(), setup.output());
                }
                copy(dir, root.resolve(id + "/clean"));
                live.add(ws);
                return ws;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public List<Workspace> list() {
            return List.copyOf(live);
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            live.forEach(Dir::close);
            CLOSED.incrementAndGet();
        }
    }

    static final class Dir implements Workspace {
        private final Provider provider;
        private final String id;
        private final Path dir;
        private final WorkspaceConfig config;
        private final Instant created = Instant.now();

        Dir(Provider provider, String id, Path dir, WorkspaceConfig config) {
            this.provider = provider;
            this.id = id;
            this.dir = dir;
            this.config = config;
        }

        @Override
        public String id() {
            return id;
        }

        @Override
        public WorkspaceInfo info() {
            return new WorkspaceInfo(id, "test_dirs", config.name(), dir.toString(), created, List.of(), null);
        }

        @Override
        public ExecResult exec(ExecRequest request, OutputListener listener) {
            long start = System.nanoTime();
            try {
                ProcessBuilder pb = new ProcessBuilder("sh", "-c", request.command())
                        .directory(resolve(request.workingDir() == null ? "" : request.workingDir()).toFile())
                        .redirectErrorStream(true);
                pb.environment().putAll(config.env());
                pb.environment().putAll(request.env());
                Process p = pb.start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                boolean done = p.waitFor(request.timeout() == null ? 60 : request.timeout().toSeconds(), TimeUnit.SECONDS);
                if (!done) {
                    p.destroyForcibly();
                }
                listener.onOutput(dev.derrick.api.StreamKind.STDOUT, out);
                return new ExecResult(done ? p.exitValue() : -1, out, "", out, Duration.ofNanos(System.nanoTime() - start), !done, false);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DerrickException("interrupted", e);
            }
        }

        private Path resolve(String path) {
            return dir.resolve(WorkspacePaths.normalizeRelative(path, "path"));
        }

        @Override
        public byte[] readFile(String path) {
            try {
                return Files.readAllBytes(resolve(path));
            } catch (IOException e) {
                throw new DerrickException("cannot read " + path + ": " + e);
            }
        }

        @Override
        public void writeFile(String path, byte[] content) {
            try {
                Path file = resolve(path);
                Files.createDirectories(file.getParent());
                Files.write(file, content);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public List<FileEntry> listFiles(String path) {
            try (Stream<Path> s = Files.list(resolve(path))) {
                return s.sorted().map(p -> new FileEntry(p.getFileName().toString(), dir.relativize(p).toString(),
                        Files.isDirectory(p), 0)).toList();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public synchronized void reset() {
            try {
                DirsProviderFactory.delete(dir);
                copy(dir.getParent().resolve("clean"), dir);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void close() {
            provider.live.remove(this);
            try {
                DirsProviderFactory.delete(dir.getParent());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    static void copy(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }

    static void delete(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }
}
