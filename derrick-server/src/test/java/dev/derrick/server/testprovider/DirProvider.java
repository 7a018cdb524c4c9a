package dev.derrick.server.testprovider;

import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.FileEntry;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.OutputListener;
import dev.derrick.api.StreamKind;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.SetupFailedException;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceInfo;
import dev.derrick.api.WorkspacePaths;
import dev.derrick.api.WorkspaceProvider;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** See {@link DirProviderFactory}. */
final class DirProvider implements WorkspaceProvider {
    private final List<DirWorkspace> live = new CopyOnWriteArrayList<>();

    @Override
    public String name() {
        return "testdir";
    }

    @Override
    public Workspace create(WorkspaceConfig config, ProgressListener progress) {
        if (!config.repositories().isEmpty()) {
            throw new InvalidConfigException("testdir has no git support");
        }
        try {
            DirWorkspace ws = new DirWorkspace(Files.createTempDirectory("derrick-testdir-"), config);
            ProgressListener p = ProgressListener.orNone(progress);
            if (!config.setupScript().isBlank()) {
                p.beginTask("setup script", ProgressListener.UNKNOWN);
                ExecResult r = ws.exec(ExecRequest.of(config.setupScript()));
                p.endTask();
                if (!r.succeeded()) {
                    ws.close();
                    throw new SetupFailedException("setup script exited with " + r.exitCode(), r.exitCode(), r.output());
                }
            }
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
        for (DirWorkspace ws : live) {
            ws.close();
        }
    }

    final class DirWorkspace implements Workspace {
        private final String id = UUID.randomUUID().toString();
        private final Path root;
        private final WorkspaceConfig config;
        private final Instant created = Instant.now();
        private final List<Process> running = new CopyOnWriteArrayList<>();
        private volatile boolean closed;

        DirWorkspace(Path root, WorkspaceConfig config) {
            this.root = root;
            this.config = config;
        }

        @Override
        public String id() {
            return id;
        }

        @Override
        public WorkspaceInfo info() {
            return new WorkspaceInfo(id, "testdir", config.name(), root.toString(), created, List.of(), null);
        }

        private Path resolve(String path) {
            String rel = WorkspacePaths.normalizeRelative(path, "path");
            return rel.isEmpty() ? root : root.resolve(rel);
        }

        @Override
        public ExecResult exec(ExecRequest request, OutputListener listener) {
            if (closed) {
                throw new DerrickException("workspace " + id + " is closed");
            }
            ProcessBuilder pb = new ProcessBuilder("sh", "-c", request.command());
            pb.directory(request.workingDir() == null ? root.toFile() : resolve(request.workingDir()).toFile());
            Map<String, String> env = pb.environment();
            env.keySet().retainAll(List.of("PATH", "HOME", "LANG"));
            env.putAll(config.env());
            env.putAll(request.env());
            pb.redirectErrorStream(true);
            long start = System.nanoTime();
            try {
                Process p = pb.start();
                running.add(p);
                try {
                    var out = new java.io.ByteArrayOutputStream();
                    Thread pump = new Thread(() -> {
                        byte[] buffer = new byte[8192];
                        try (InputStream in = p.getInputStream()) {
                            for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                                out.write(buffer, 0, n);
                                (listener == null ? OutputListener.NONE : listener).onOutput(StreamKind.STDOUT, new String(buffer, 0, n, StandardCharsets.UTF_8));
                            }
                        } catch (IOException ignored) {
                            // process killed
                        }
                    });
                    pump.start();
                    Duration limit = request.timeout() == null ? Duration.ofMinutes(10) : request.timeout();
                    boolean done = p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS);
                    if (!done) {
                        p.descendants().forEach(ProcessHandle::destroyForcibly);
                        p.destroyForcibly();
                        p.waitFor();
                    }
                    pump.join(5000);
                    String output = out.toString(StandardCharsets.UTF_8);
                    return new ExecResult(done ? p.exitValue() : -1, output, "", output,
                            Duration.ofNanos(System.nanoTime() - start), !done, false);
                } finally {
                    running.remove(p);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DerrickException("interrupted");
            }
        }

        @Override
        public byte[] readFile(String path) {
            try {
                return Files.readAllBytes(resolve(path));
            } catch (NoSuchFileException e) {
                throw new DerrickException("no such file: " + path);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void writeFile(String path, byte[] content) {
            try {
                Path target = resolve(path);
                Files.createDirectories(target.getParent());
                Files.write(target, content);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public List<FileEntry> listFiles(String path) {
            List<FileEntry> entries = new ArrayList<>();
            try (Stream<Path> s = Files.list(resolve(path))) {
                s.sorted().forEach(p -> entries.add(new FileEntry(p.getFileName().toString(),
                        root.relativize(p).toString(), Files.isDirectory(p), p.toFile().length())));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return entries;
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            live.remove(this);
            for (Process p : running) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
            try (Stream<Path> s = Files.walk(root)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // best effort in a test provider
            }
        }
    }
}
