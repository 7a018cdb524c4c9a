package dev.derrick.core;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/** Waiting for work started with {@link CompletableFuture}, with its failure as it was thrown. */
public final class Futures {
    private Futures() {
    }

    /** The future's value; its failure rethrown as the {@link RuntimeException} it was, not wrapped. */
    public static <T> T join(CompletableFuture<T> future) {
        try {
            return future.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }

    /**
     * Every future's value, in order. Waits for all of them even when one fails — so that what the others made can be
     * cleaned up — then rethrows the first failure as {@link #join} does.
     */
    public static <T> List<T> joinAll(List<CompletableFuture<T>> futures) {
        List<T> values = new ArrayList<>();
        RuntimeException failure = null;
        for (CompletableFuture<T> f : futures) {
            try {
                values.add(join(f));
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
        return values;
    }
}
