package dev.derrick.core.limits;

import dev.derrick.api.spi.ProviderOptions;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The resource limits of a workspace, as provider options with docker's names and formats: {@code memory} (a size like
 * {@code 512m} or {@code 2g}; bytes without a suffix), {@code cpus} (a number of CPUs like {@code 1.5}) and {@code pids}
 * (the most processes and threads at once). Zero means no limit.
 *
 * @param memoryBytes the most memory (and swap: none on top), 0 for no limit
 * @param cpus        CPU time per wall-clock second, in CPUs, 0 for no limit
 * @param pids        the most processes (threads count) at once, 0 for no limit
 */
public record ResourceLimits(long memoryBytes, double cpus, long pids) {
    /** The option names. */
    public static final String MEMORY = "memory";
    public static final String CPUS = "cpus";
    public static final String PIDS = "pids";
    /** No limit at all. */
    public static final ResourceLimits NONE = new ResourceLimits(0, 0, 0);
    /** The CFS period the {@code cpus} quota is expressed in (docker's, 100 ms). */
    public static final long CFS_PERIOD_US = 100_000;

    public ResourceLimits {
        if (memoryBytes < 0 || cpus < 0 || pids < 0 || Double.isNaN(cpus) || Double.isInfinite(cpus)) {
            throw new IllegalArgumentException("resource limits must not be negative");
        }
    }

    /**
     * Parses the {@code memory}, {@code cpus} and {@code pids} options.
     *
     * @throws IllegalArgumentException naming the option and the provider for a bad value
     */
    public static ResourceLimits parse(ProviderOptions options, String provider) {
        long memory = options.string(MEMORY).map(s -> parseBytes(s, provider)).orElse(0L);
        if (memory != 0 && memory < 4L << 20) {
            throw new IllegalArgumentException("option 'memory' of provider '" + provider
                    + "' must be at least 4m (docker's minimum is 6m), got '" + options.string(MEMORY).orElse("") + "'");
        }
        double cpus = options.string(CPUS).map(s -> parseCpus(s, provider)).orElse(0.0);
        long pids = options.string(PIDS).map(s -> parsePids(s, provider)).orElse(0L);
        return new ResourceLimits(memory, cpus, pids);
    }

    /** Whether no limit is set. */
    public boolean isEmpty() {
        return memoryBytes == 0 && cpus == 0 && pids == 0;
    }

    /** {@code cpus} in billionths of a CPU (docker's {@code NanoCpus}). */
    public long nanoCpus() {
        return Math.round(cpus * 1_000_000_000L);
    }

    /** The CFS quota per {@link #CFS_PERIOD_US} for {@code cpus}, at least 1 ms (the kernel's minimum). */
    public long cfsQuotaUs() {
        return Math.max(1000, Math.round(cpus * CFS_PERIOD_US));
    }

    /** The names of the limits that are set, e.g. {@code [memory, pids]}. */
    public List<String> names() {
        List<String> names = new ArrayList<>();
        if (memoryBytes > 0) {
            names.add(MEMORY);
        }
        if (cpus > 0) {
            names.add(CPUS);
        }
        if (pids > 0) {
            names.add(PIDS);
        }
        return names;
    }

    /** e.g. {@code memory=512m, cpus=1.5, pids=256}, or {@code none}. */
    @Override
    public String toString() {
        if (isEmpty()) {
            return "none";
        }
        List<String> parts = new ArrayList<>();
        if (memoryBytes > 0) {
            parts.add("memory=" + size(memoryBytes));
        }
        if (cpus > 0) {
            parts.add("cpus=" + (cpus == Math.rint(cpus) ? Long.toString((long) cpus) : Double.toString(cpus)));
        }
        if (pids > 0) {
            parts.add("pids=" + pids);
        }
        return String.join(", ", parts);
    }

    /** A size in docker's notation, exact: {@code 512m}, {@code 2g}, {@code 1000} (bytes). */
    public static String size(long bytes) {
        String[] units = {"t", "g", "m", "k"};
        int[] shifts = {40, 30, 20, 10};
        for (int i = 0; i < units.length; i++) {
            if (bytes >= (1L << shifts[i]) && bytes % (1L << shifts[i]) == 0) {
                return (bytes >> shifts[i]) + units[i];
            }
        }
        return Long.toString(bytes);
    }

    /** "512m", "2g", "1048576", "64k", "1.5g", "512MiB" → bytes. */
    public static long parseBytes(String s, String provider) {
        String t = s.trim().toLowerCase(Locale.ROOT).replaceFirst("i?b$", "");
        long factor = 1;
        if (!t.isEmpty()) {
            switch (t.charAt(t.length() - 1)) {
                case 'k' -> factor = 1L << 10;
                case 'm' -> factor = 1L << 20;
                case 'g' -> factor = 1L << 30;
                case 't' -> factor = 1L << 40;
                default -> factor = 1;
            }
            if (factor > 1) {
                t = t.substring(0, t.length() - 1);
            }
        }
        try {
            double v = Double.parseDouble(t);
            if (v < 0 || Double.isNaN(v) || Double.isInfinite(v) || v * factor > Long.MAX_VALUE) {
                throw new NumberFormatException();
            }
            return (long) (v * factor);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("option 'memory' of provider '" + provider
                    + "' must be a size like 512m or 2g, got '" + s + "'");
        }
    }

    private static double parseCpus(String s, String provider) {
        try {
            double v = Double.parseDouble(s.trim());
            if (v < 0 || Double.isNaN(v) || Double.isInfinite(v)) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("option 'cpus' of provider '" + provider
                    + "' must be a number of CPUs like 1.5, got '" + s + "'");
        }
    }

    private static long parsePids(String s, String provider) {
        try {
            long v = Long.parseLong(s.trim());
            if (v < 0) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("option 'pids' of provider '" + provider
                    + "' must be a whole number of processes like 256, got '" + s + "'");
        }
    }
}
