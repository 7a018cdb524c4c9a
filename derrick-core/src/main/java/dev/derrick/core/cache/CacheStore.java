package dev.derrick.core.cache;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.derrick.api.DerrickException;
import dev.derrick.core.json.Json;
import dev.derrick.core.process.OwnerId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The provisioning cache of one backend, on disk: one directory per entry, holding {@code entry.json} (a
 * {@link CacheEntry}) and the backend's payload (a {@code snapshot/} directory for {@code local}; nothing for
 * {@code docker}, whose payload is an image the {@code onRemove} hook deletes).
 *
 * <p>Layout under {@code root/backend}:
 * <pre>
 *   KEY.GENERATION/entry.json     a published entry (complete: it was renamed into place)
 *   KEY.GENERATION/snapshot/…     its payload
 *   .tmp-KEY-PID-RANDOM/          an entry being built; never read; removed once its process is gone
 *   .tmp-KEY-PID-RANDOM.owner     its owner ({@link OwnerId#text()}); without it the PID in the name tells
 *   .trash-…                      an entry being deleted
 *   leases/KEY.GENERATION/PID-ID  one file per workspace made from the entry and alive, holding its owner
 *                                 ({@link OwnerId#text()}; empty in leases of older versions: the PID tells)
 * </pre>
 *
 * <p>Publishing is atomic: an entry is built in a temporary directory and renamed into place when complete, so a
 * provider killed mid-setup leaves only a temporary directory that {@link #find} ignores and
 * {@link #collectGarbage()} deletes. A key may have several generations (a background rebuild publishes a newer
 * one); {@link #find} returns the newest, and older ones go once no lease holds them. Leases name their process,
 * so a lease of a process that died (or whose pid another process reuses) no longer counts. Changes are serialized by a lock that also holds across
 * processes sharing the directory.
 */
public final class CacheStore {
    /** The metadata file in every entry directory. */
    public static final String ENTRY_FILE = "entry.json";
    private static final Logger LOG = LoggerFactory.getLogger(CacheStore.class);
    private static final String TMP = ".tmp-";
    private static final String TRASH = ".trash-";
    private static final String OWNER_SUFFIX = ".owner";
    private static final String LEASES = "leases";
    private static final String EVICTION_FILE = "eviction.json";
    private static final Map<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();
    private static final long PID = ProcessHandle.current().pid();

    private final Path dir;
    private final String backend;
    private final Consumer<CacheEntry> onRemove;
    private final Clock clock;
    // Entries written by other versions: unknown fields are ignored, missing ones (a boolean added later) default.
    private final ObjectMapper json = Json.mapper().copy().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    /**
     * @param root     the cache directory (e.g. {@code ~/.cache/derrick}); this store uses {@code root/backend}
     * @param backend  the backend's name
     * @param onRemove called for an entry being removed, to delete what lives outside its directory (an image)
     */
    public CacheStore(Path root, String backend, Consumer<CacheEntry> onRemove) {
        this(root, backend, onRemove, Clock.systemUTC());
    }

    CacheStore(Path root, String backend, Consumer<CacheEntry> onRemove, Clock clock) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.dir = Objects.requireNonNull(root, "root").toAbsolutePath().normalize().resolve(backend);
        this.onRemove = onRemove == null ? e -> { } : onRemove;
        this.clock = clock;
        try {
            Files.createDirectories(dir.resolve(LEASES));
        } catch (IOException e) {
            throw new DerrickException("cannot create cache directory " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The directory this store keeps its entries in. */
    public Path directory() {
        return dir;
    }

    /** The backend name. */
    public String backend() {
        return backend;
    }

    /** The directory of a published entry. */
    public Path entryDir(CacheEntry entry) {
        return dir.resolve(entry.id());
    }

    /**
     * Records the bounds the provider using this store applies ({@code eviction.json}), so {@code derrick cache list}
     * can show them; best effort.
     */
    public void recordPolicy(EvictionPolicy policy) {
        Map<String, Object> body = new java.util.LinkedHashMap<>();
        body.put("max_bytes", policy.maxBytes());
        body.put("max_age_seconds", policy.maxAge() == null ? null : policy.maxAge().toSeconds());
        try {
            Path tmp = dir.resolve(TMP + "eviction-" + PID);
            Files.writeString(tmp, json.writeValueAsString(body));
            Files.move(tmp, dir.resolve(EVICTION_FILE), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            LOG.debug("cannot record the cache bounds in {}: {}", dir, e.getMessage());
        }
    }

    /** The bounds last recorded by a provider with {@link #recordPolicy}, if any. */
    public Optional<EvictionPolicy> recordedPolicy() {
        Path file = dir.resolve(EVICTION_FILE);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            com.fasterxml.jackson.databind.JsonNode node = json.readTree(file.toFile());
            long bytes = node.path("max_bytes").asLong(0);
            com.fasterxml.jackson.databind.JsonNode age = node.path("max_age_seconds");
            return Optional.of(new EvictionPolicy(age.isNumber() ? java.time.Duration.ofSeconds(age.asLong()) : null, bytes));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** The newest published entry for {@code key}, if any. */
    public Optional<CacheEntry> find(CacheKey key) {
        return generations(key).stream().reduce((a, b) -> b);
    }

    /**
     * Finds the newest entry for {@code key} and leases it in one step, so it cannot be evicted in between; touches
     * its last-used time.
     */
    public Optional<Lease> acquire(CacheKey key) {
        return locked(() -> find(key).map(this::leaseLocked));
    }

    /** Leases a published entry (it will not be evicted while the lease is open) and touches its last-used time. */
    public Lease lease(CacheEntry entry) {
        return locked(() -> {
            if (!Files.isRegularFile(entryDir(entry).resolve(ENTRY_FILE))) {
                throw new DerrickException("cache entry " + entry.id() + " is gone");
            }
            return leaseLocked(entry);
        });
    }

    /** Starts building an entry for {@code key}: a temporary directory to fill, then {@link Pending#publish}. */
    public Pending begin(CacheKey key) {
        String generation = String.format("%013d-%04x", clock.millis(), ThreadLocalRandom.current().nextInt(0x10000));
        Path tmp = dir.resolve(TMP + key.hex() + "-" + PID + "-" + UUID.randomUUID().toString().substring(0, 8));
        try {
            Files.createDirectories(tmp);
            Files.writeString(ownerFile(tmp), OwnerId.current().text());
        } catch (IOException e) {
            throw new DerrickException("cannot create cache directory " + tmp + ": " + e.getMessage(), e);
        }
        return new Pending(key, generation, tmp);
    }

    /** Every published entry with its number of live leases, most recently used first. */
    public List<Status> list() {
        List<Status> out = new ArrayList<>();
        for (CacheEntry entry : all()) {
            out.add(new Status(entry, entryDir(entry), leaseCount(entry), isSuperseded(entry)));
        }
        out.sort(Comparator.comparing((Status s) -> s.entry().lastUsed()).reversed());
        return out;
    }

    /**
     * Removes an entry unless it is in use.
     *
     * @return whether it was removed
     */
    public boolean remove(CacheEntry entry) {
        return locked(() -> leaseCount(entry) == 0 && removeLocked(entry));
    }

    /**
     * Applies {@code policy}: removes entries unused for longer than its age, then least recently used ones until the
     * total size fits. Never removes an entry in use. Also removes superseded generations nobody uses.
     *
     * @return the entries removed
     */
    public List<CacheEntry> prune(EvictionPolicy policy) {
        return locked(() -> {
            List<CacheEntry> removed = new ArrayList<>();
            Instant now = clock.instant();
            List<Status> statuses = new ArrayList<>(list());
            statuses.sort(Comparator.comparing((Status s) -> s.entry().lastUsed()));
            long total = statuses.stream().mapToLong(s -> s.entry().sizeBytes()).sum();
            for (Status status : statuses) {
                CacheEntry entry = status.entry();
                boolean tooOld = policy.maxAge() != null && entry.lastUsed().plus(policy.maxAge()).isBefore(now);
                boolean tooBig = policy.maxBytes() > 0 && total > policy.maxBytes();
                if ((status.superseded() || tooOld || tooBig) && status.leases() == 0 && removeLocked(entry)) {
                    removed.add(entry);
                    total -= entry.sizeBytes();
                }
            }
            return removed;
        });
    }

    /**
     * Deletes what interrupted work left: temporary directories of processes that are gone, half-deleted entries,
     * leases of dead processes, and superseded generations nobody uses.
     *
     * @return how many things were removed
     */
    public int collectGarbage() {
        return locked(() -> {
            int removed = 0;
            for (Path child : children(dir)) {
                String name = child.getFileName().toString();
                if (name.startsWith(TRASH) || (name.startsWith(TMP) && !ownerAlive(child))) {
                    LOG.info("removing leftover cache directory {}", child);
                    FileTrees.deleteQuietly(child);
                    removed++;
                }
            }
            for (Path leaseDir : children(dir.resolve(LEASES))) {
                for (Path lease : children(leaseDir)) {
                    if (!leaseAlive(lease)) {
                        deleteIfExists(lease);
                        removed++;
                    }
                }
                if (!Files.isDirectory(dir.resolve(leaseDir.getFileName()))) {
                    if (children(leaseDir).isEmpty()) {
                        deleteIfExists(leaseDir);
                    }
                }
            }
            for (Status status : list()) {
                if (status.superseded() && status.leases() == 0 && removeLocked(status.entry())) {
                    removed++;
                }
            }
            return removed;
        });
    }

    // ---------------------------------------------------------------- internals

    private List<CacheEntry> generations(CacheKey key) {
        List<CacheEntry> out = new ArrayList<>();
        String prefix = key.hex() + ".";
        for (Path child : children(dir)) {
            if (child.getFileName().toString().startsWith(prefix)) {
                read(child).ifPresent(out::add);
            }
        }
        out.sort(Comparator.comparing(CacheEntry::generation));
        return out;
    }

    private List<CacheEntry> all() {
        List<CacheEntry> out = new ArrayList<>();
        for (Path child : children(dir)) {
            String name = child.getFileName().toString();
            int dot = name.indexOf('.');
            if (dot == 64 && CacheKey.isKey(name.substring(0, 64))) {
                read(child).ifPresent(out::add);
            }
        }
        return out;
    }

    private boolean isSuperseded(CacheEntry entry) {
        List<CacheEntry> gens = generations(entry.cacheKey());
        return !gens.isEmpty() && gens.get(gens.size() - 1).generation().compareTo(entry.generation()) > 0;
    }

    private Optional<CacheEntry> read(Path entryDir) {
        Path file = entryDir.resolve(ENTRY_FILE);
        try {
            return Optional.of(json.readValue(file.toFile(), CacheEntry.class));
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            return Optional.empty();
        } catch (IOException e) {
            LOG.warn("ignoring unreadable cache entry {}: {}", entryDir, e.getMessage());
            return Optional.empty();
        }
    }

    private void write(Path file, CacheEntry entry) {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp-" + UUID.randomUUID());
        try {
            json.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), entry);
            move(tmp, file);
        } catch (IOException e) {
            deleteIfExists(tmp);
            throw new DerrickException("cannot write cache metadata " + file + ": " + e.getMessage(), e);
        }
    }

    private Lease leaseLocked(CacheEntry entry) {
        Path leaseDir = dir.resolve(LEASES).resolve(entry.id());
        Path file = leaseDir.resolve(PID + "-" + UUID.randomUUID());
        try {
            Files.createDirectories(leaseDir);
            Files.writeString(file, OwnerId.current().text(), StandardOpenOption.CREATE_NEW);
        } catch (IOException e) {
            throw new DerrickException("cannot lease cache entry " + entry.id() + ": " + e.getMessage(), e);
        }
        CacheEntry touched = entry.withLastUsed(clock.instant());
        write(entryDir(entry).resolve(ENTRY_FILE), touched);
        return new Lease(touched, file);
    }

    private int leaseCount(CacheEntry entry) {
        int n = 0;
        for (Path lease : children(dir.resolve(LEASES).resolve(entry.id()))) {
            if (leaseAlive(lease)) {
                n++;
            }
        }
        return n;
    }

    private boolean removeLocked(CacheEntry entry) {
        Path from = entryDir(entry);
        Path trash = dir.resolve(TRASH + entry.id() + "-" + UUID.randomUUID().toString().substring(0, 8));
        try {
            move(from, trash);
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            LOG.warn("cannot remove cache entry {}: {}", entry.id(), e.getMessage());
            return false;
        }
        LOG.info("removing cache entry {} ({}, {} bytes)", entry.id(), entry.configName(), entry.sizeBytes());
        try {
            onRemove.accept(entry);
        } catch (RuntimeException e) {
            LOG.warn("cleaning up after cache entry {} failed: {}", entry.id(), e.getMessage());
        }
        FileTrees.deleteQuietly(trash);
        FileTrees.deleteQuietly(dir.resolve(LEASES).resolve(entry.id()));
        return true;
    }

    private static Path ownerFile(Path tmp) {
        return tmp.resolveSibling(tmp.getFileName() + OWNER_SUFFIX);
    }

    /** Whether the process building {@code .tmp-KEY-PID-RANDOM} (or owning its {@code .owner} file) may still run. */
    private static boolean ownerAlive(Path child) {
        String tmpName = child.getFileName().toString();
        if (tmpName.endsWith(OWNER_SUFFIX)) {
            Path built = child.resolveSibling(tmpName.substring(0, tmpName.length() - OWNER_SUFFIX.length()));
            return Files.exists(built) && ownerAlive(built); // goes with its directory
        }
        // .tmp-KEY-PID-RANDOM
        String[] parts = tmpName.substring(TMP.length()).split("-");
        if (parts.length < 3) {
            return false;
        }
        Optional<OwnerId> recorded = readOwner(ownerFile(child));
        if (recorded.isPresent()) {
            return recorded.get().isAlive();
        }
        try {
            return OwnerId.ofPid(Long.parseLong(parts[1])).isAlive(); // an older version's, or its owner file not yet written
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static boolean leaseAlive(Path lease) {
        Optional<OwnerId> recorded = readOwner(lease);
        if (recorded.isPresent()) {
            return recorded.get().isCurrent() || recorded.get().isAlive();
        }
        // a lease of an older version: empty, named PID-ID
        String name = lease.getFileName().toString();
        int dash = name.indexOf('-');
        try {
            long pid = Long.parseLong(dash < 0 ? name : name.substring(0, dash));
            return pid == PID || OwnerId.ofPid(pid).isAlive();
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static Optional<OwnerId> readOwner(Path file) {
        try {
            return Files.isRegularFile(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                    ? OwnerId.parse(Files.readString(file)) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static List<Path> children(Path parent) {
        if (!Files.isDirectory(parent)) {
            return List.of();
        }
        try (Stream<Path> list = Files.list(parent)) {
            return list.sorted().toList();
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void deleteIfExists(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            LOG.debug("cannot delete {}: {}", p, e.getMessage());
        }
    }

    private <T> T locked(Supplier<T> work) {
        ReentrantLock jvmLock = JVM_LOCKS.computeIfAbsent(dir, d -> new ReentrantLock());
        jvmLock.lock();
        try {
            // the directory may have been removed while the provider runs: make it again
            Files.createDirectories(dir.resolve(LEASES));
        } catch (IOException e) {
            jvmLock.unlock();
            throw new dev.derrick.api.ProviderUnavailableException("cache directory " + dir + " cannot be written ("
                    + e.getMessage() + "); creates work again once it can", e);
        }
        try (FileChannel channel = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock ignored = jvmLock.getHoldCount() > 1 ? null : channel.lock()) {
            return work.get();
        } catch (IOException e) {
            throw new dev.derrick.api.ProviderUnavailableException("cannot lock cache directory " + dir + ": "
                    + e.getMessage() + "; creates work again once it can be written", e);
        } finally {
            jvmLock.unlock();
        }
    }

    /**
     * A published entry with what is known about its use.
     *
     * @param entry      the metadata
     * @param directory  its directory
     * @param leases     live workspaces made from it
     * @param superseded whether a newer generation of its key exists
     */
    public record Status(CacheEntry entry, Path directory, int leases, boolean superseded) {
        public boolean inUse() {
            return leases > 0;
        }
    }

    /** An entry being built. Close without publishing to throw it away. */
    public final class Pending implements AutoCloseable {
        private final CacheKey key;
        private final String generation;
        private final Path tmp;
        private boolean done;

        private Pending(CacheKey key, String generation, Path tmp) {
            this.key = key;
            this.generation = generation;
            this.tmp = tmp;
        }

        /** The temporary directory to fill with the payload. */
        public Path directory() {
            return tmp;
        }

        public CacheKey key() {
            return key;
        }

        public String generation() {
            return generation;
        }

        /**
         * Writes {@code entry} (its key and generation are set from this pending entry; created and last used are
         * now) and renames the directory into place. Returns a lease on it; older generations of the key that nobody
         * uses are removed.
         */
        public Lease publish(CacheEntry entry) {
            if (done) {
                throw new IllegalStateException("already published or discarded");
            }
            Instant now = clock.instant();
            CacheEntry complete = new CacheEntry(key.hex(), generation, backend, entry.configName(), entry.repositories(),
                    now, now, entry.sizeBytes(), entry.payload(), entry.details());
            write(tmp.resolve(ENTRY_FILE), complete);
            return locked(() -> {
                try {
                    move(tmp, entryDir(complete));
                } catch (IOException e) {
                    throw new DerrickException("cannot publish cache entry " + complete.id() + ": " + e.getMessage(), e);
                }
                done = true;
                deleteIfExists(ownerFile(tmp));
                LOG.info("cached {} as {} ({} bytes)", complete.configName(), complete.id(), complete.sizeBytes());
                Lease lease = leaseLocked(complete);
                for (CacheEntry older : generations(key)) {
                    if (older.generation().compareTo(generation) < 0 && leaseCount(older) == 0) {
                        removeLocked(older);
                    }
                }
                return lease;
            });
        }

        /** Throws the temporary directory away unless published. Idempotent. */
        @Override
        public void close() {
            if (!done) {
                done = true;
                FileTrees.deleteQuietly(tmp);
                deleteIfExists(ownerFile(tmp));
            }
        }
    }

    /** A workspace's hold on an entry: while open, the entry is not evicted. Close when the workspace goes. */
    public final class Lease implements AutoCloseable {
        private final CacheEntry entry;
        private final Path file;
        private volatile boolean closed;

        private Lease(CacheEntry entry, Path file) {
            this.entry = entry;
            this.file = file;
        }

        public CacheEntry entry() {
            return entry;
        }

        /** The entry's directory. */
        public Path directory() {
            return entryDir(entry);
        }

        /** Releases the entry; removes it when it is superseded and this was its last lease. Idempotent. */
        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            locked(() -> {
                deleteIfExists(file);
                if (leaseCount(entry) == 0 && isSuperseded(entry)) {
                    removeLocked(entry);
                }
                return null;
            });
        }
    }
}
