package dev.derrick.core.cache;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(30)
class SingleFlightTest {
    final SingleFlight<String, String> flights = new SingleFlight<>();

    @Test
    void concurrentCallersShareOneRun() throws Exception {
        int n = 16;
        AtomicInteger runs = new AtomicInteger();
        CyclicBarrier start = new CyclicBarrier(n);
        CountDownLatch release = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<String>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                results.add(pool.submit(() -> {
                    start.await();
                    return flights.run("k", () -> {
                        runs.incrementAndGet();
                        await(release);
                        return "value";
                    });
                }));
            }
            // Let every thread arrive while the first run is blocked.
            while (!flights.isRunning("k")) {
                Thread.sleep(5);
            }
            Thread.sleep(200);
            release.countDown();
            for (Future<String> f : results) {
                assertThat(f.get(10, TimeUnit.SECONDS)).isEqualTo("value");
            }
            assertThat(runs).hasValue(1);
            assertThat(flights.isRunning("k")).isFalse();
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void joinSaysWhoLedExactlyOnce() throws Exception {
        int n = 8;
        CyclicBarrier start = new CyclicBarrier(n);
        CountDownLatch release = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<SingleFlight.Flight<String>>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                results.add(pool.submit(() -> {
                    start.await();
                    return flights.join("k", () -> {
                        await(release);
                        return "value";
                    });
                }));
            }
            while (!flights.isRunning("k")) {
                Thread.sleep(5);
            }
            Thread.sleep(200);
            release.countDown();
            int led = 0;
            for (Future<SingleFlight.Flight<String>> f : results) {
                SingleFlight.Flight<String> flight = f.get(10, TimeUnit.SECONDS);
                assertThat(flight.value()).isEqualTo("value");
                led += flight.led() ? 1 : 0;
            }
            assertThat(led).isEqualTo(1);
            assertThat(flights.join("k", () -> "again").led()).as("nothing is remembered: the next caller leads").isTrue();
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aFailureReachesEveryWaiterAndIsNotCached() throws Exception {
        int n = 8;
        AtomicInteger runs = new AtomicInteger();
        CountDownLatch release = new CountDownLatch(1);
        CyclicBarrier start = new CyclicBarrier(n);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<String>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                results.add(pool.submit(() -> {
                    start.await();
                    return flights.run("k", () -> {
                        runs.incrementAndGet();
                        await(release);
                        throw new IllegalStateException("setup broke");
                    });
                }));
            }
            while (!flights.isRunning("k")) {
                Thread.sleep(5);
            }
            Thread.sleep(200);
            release.countDown();
            for (Future<String> f : results) {
                assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS)).hasRootCauseMessage("setup broke");
            }
            assertThat(runs).hasValue(1);
        } finally {
            pool.shutdownNow();
        }
        // Not cached: the next call runs again.
        assertThat(flights.run("k", () -> "second try")).isEqualTo("second try");
    }

    @Test
    void differentKeysRunInParallel() throws Exception {
        CountDownLatch both = new CountDownLatch(2);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<String> a = pool.submit(() -> flights.run("a", () -> {
                both.countDown();
                await(both);
                return "a";
            }));
            Future<String> b = pool.submit(() -> flights.run("b", () -> {
                both.countDown();
                await(both);
                return "b";
            }));
            assertThat(a.get(10, TimeUnit.SECONDS)).isEqualTo("a");
            assertThat(b.get(10, TimeUnit.SECONDS)).isEqualTo("b");
        } finally {
            pool.shutdownNow();
        }
    }

    static void await(CountDownLatch latch) {
        try {
            if (!latch.await(20, TimeUnit.SECONDS)) {
                throw new IllegalStateException("latch timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
