package dev.derrick.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * Timing helpers for the benchmark programs: repeat an action, keep every sample, report median and spread. The
 * machines are noisy, so figures are always compared side by side in one run, never asserted.
 */
public final class Stats {
    private final String label;
    private final List<Long> nanos = new ArrayList<>();

    public Stats(String label) {
        this.label = label;
    }

    /** Times {@code action} {@code warmup + runs} times and keeps the last {@code runs} samples. */
    public static Stats measure(String label, int warmup, int runs, Callable<?> action) throws Exception {
        Stats stats = new Stats(label);
        for (int i = 0; i < warmup; i++) {
            action.call();
        }
        for (int i = 0; i < runs; i++) {
            long start = System.nanoTime();
            action.call();
            stats.add(System.nanoTime() - start);
        }
        return stats;
    }

    public void add(long sampleNanos) {
        nanos.add(sampleNanos);
    }

    public void add(Duration sample) {
        nanos.add(sample.toNanos());
    }

    public int count() {
        return nanos.size();
    }

    /** Median in milliseconds. */
    public double medianMillis() {
        return percentileMillis(50);
    }

    public double percentileMillis(double p) {
        if (nanos.isEmpty()) {
            return Double.NaN;
        }
        List<Long> sorted = new ArrayList<>(nanos);
        Collections.sort(sorted);
        if (p == 50 && sorted.size() % 2 == 0) {
            int mid = sorted.size() / 2;
            return (sorted.get(mid - 1) + sorted.get(mid)) / 2.0 / 1e6;
        }
        int index = (int) Math.min(sorted.size() - 1, Math.max(0, Math.ceil(p / 100.0 * sorted.size()) - 1));
        return sorted.get(index) / 1e6;
    }

    /** One line: label, n, median, p10, p90. */
    public String line() {
        return String.format(Locale.ROOT, "%-48s n=%-4d median=%10.3f ms   p10=%10.3f ms   p90=%10.3f ms",
                label, count(), medianMillis(), percentileMillis(10), percentileMillis(90));
    }

    /** "a / b = 0.123x" for two medians. */
    public static String ratio(Stats a, Stats b) {
        return String.format(Locale.ROOT, "%-48s %.3fx", a.label + " / " + b.label, a.medianMillis() / b.medianMillis());
    }
}
